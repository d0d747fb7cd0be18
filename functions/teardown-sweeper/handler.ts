import { CloudFormationTeardown } from '#core/adapters/cloudformation';
import { CodePipelineGateway } from '#core/adapters/codepipeline';
import { executionLocation } from '#core/adapters/execution-location';
import { StepFunctionsTeardown } from '#core/adapters/stepfunctions';
import { homeLocation, requireEnv } from '#core/config';
import { lambdaHandler } from '#core/handler';
import type { Location } from '#core/organization/location';
import { systemClock } from '#core/ports';
import { logger } from '#core/powertools';
import { type SweepDeps, sweep } from '#core/teardown/sweep';
import {
  cloudFormation,
  cloudFormationIn,
  codePipeline,
  codePipelineIn,
  documents,
  settingsStore,
  stepFunctions,
} from '#core/wiring';

// Built once per container.
const parameters = settingsStore();
const pipelines = new CodePipelineGateway(codePipeline());
const doc = documents();
const tableName = requireEnv('STATE_TABLE_NAME');
// In a member account (docs/ORGANIZATION.md): the member role's session, named after what it does.
const SWEEP = { purpose: 'sweep' };
const organization = async () => (await parameters.settings()).organization;

const deps: SweepDeps = {
  stacks: new CloudFormationTeardown(cloudFormation()),
  executions: {
    status: async (p: string, e: string, where?: Location) => {
      const gateway = where
        ? new CodePipelineGateway(await codePipelineIn(where, await organization(), SWEEP))
        : pipelines;
      return (await gateway.getPipelineExecution(p, e)).status;
    },
  },
  starter: new StepFunctionsTeardown(stepFunctions(), requireEnv('TEARDOWN_STATE_MACHINE_ARN')),
  settings: async () => (await parameters.settings()).teardown,
  now: () => systemClock.now(),
  organization: {
    home: homeLocation(),
    settings: organization,
    listIn: async (where) =>
      new CloudFormationTeardown(await cloudFormationIn(where, await organization(), SWEEP)).listAll(),
    // The hub's timeline knows where every execution it saw ran (the event's account and region).
    locate: (executionId) => executionLocation(doc, tableName, executionId),
  },
};

/** Hourly: expired Stagecrew-tagged stacks, here and in every member account and region, go to teardown. */
export const handler = lambdaHandler(async (_event: unknown) => {
  const { candidates, started, locations, unreachable } = await sweep(deps);
  logger.info('sweep done', {
    locations,
    candidates: candidates.map((c) => ({ stack: c.stackName, stackId: c.stackId, why: c.why })),
    started,
  });
  if (unreachable.length > 0) logger.warn('locations not swept', { unreachable });
  return { locations, candidates: candidates.length, started, unreachable: unreachable.length };
});
