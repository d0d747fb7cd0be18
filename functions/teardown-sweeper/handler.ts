import { CloudFormationTeardown } from '#core/adapters/cloudformation';
import { CodePipelineGateway } from '#core/adapters/codepipeline';
import { StepFunctionsTeardown } from '#core/adapters/stepfunctions';
import { requireEnv } from '#core/config';
import { lambdaHandler } from '#core/handler';
import { systemClock } from '#core/ports';
import { logger } from '#core/powertools';
import { selectExpired, sweepRequests } from '#core/teardown/sweep';
import { cloudFormation, codePipeline, settingsStore, stepFunctions } from '#core/wiring';

// Built once per container.
const parameters = settingsStore();
const stacks = new CloudFormationTeardown(cloudFormation());
const pipelines = new CodePipelineGateway(codePipeline());
const starter = new StepFunctionsTeardown(stepFunctions(), requireEnv('TEARDOWN_STATE_MACHINE_ARN'));

/** Hourly: expired Stagecrew-tagged stacks go to the same teardown state machine as pipeline events. */
export const handler = lambdaHandler(async (_event: unknown) => {
  const settings = (await parameters.settings()).teardown;
  const now = systemClock.now();
  const candidates = await selectExpired(await stacks.listAll(), settings, now, {
    status: async (p, e) => (await pipelines.getPipelineExecution(p, e)).status,
  });
  const started: Array<{ name: string; outcome: string }> = [];
  for (const r of sweepRequests(candidates, now, settings.dryRun)) {
    started.push({ name: r.name, outcome: await starter.startTeardown(r.name, r.input) });
  }
  logger.info('sweep done', { candidates: candidates.map((c) => ({ stack: c.stackName, why: c.why })), started });
  return { candidates: candidates.length, started };
});
