import { CloudFormationTeardown } from '#core/adapters/cloudformation';
import { CodePipelineGateway } from '#core/adapters/codepipeline';
import { StepFunctionsTeardown } from '#core/adapters/stepfunctions';
import { requireEnv } from '#core/config';
import { lambdaHandler } from '#core/handler';
import { systemClock } from '#core/ports';
import { logger } from '#core/powertools';
import { sweep } from '#core/teardown/sweep';
import { cloudFormation, codePipeline, settingsStore, stepFunctions } from '#core/wiring';

// Built once per container.
const parameters = settingsStore();
const pipelines = new CodePipelineGateway(codePipeline());
const deps = {
  stacks: new CloudFormationTeardown(cloudFormation()),
  executions: { status: async (p: string, e: string) => (await pipelines.getPipelineExecution(p, e)).status },
  starter: new StepFunctionsTeardown(stepFunctions(), requireEnv('TEARDOWN_STATE_MACHINE_ARN')),
  settings: async () => (await parameters.settings()).teardown,
  now: () => systemClock.now(),
};

/** Hourly: expired Stagecrew-tagged stacks go to the same teardown state machine as pipeline events. */
export const handler = lambdaHandler(async (_event: unknown) => {
  const { candidates, started } = await sweep(deps);
  logger.info('sweep done', { candidates: candidates.map((c) => ({ stack: c.stackName, why: c.why })), started });
  return { candidates: candidates.length, started };
});
