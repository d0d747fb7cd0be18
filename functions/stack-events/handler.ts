import { CloudFormationTeardown } from '#core/adapters/cloudformation';
import { StepFunctionsTeardown } from '#core/adapters/stepfunctions';
import { DynamoTeardownStore } from '#core/adapters/teardown-store';
import { homeLocation, requireEnv } from '#core/config';
import { lambdaHandler } from '#core/handler';
import { logger } from '#core/powertools';
import { handleStackEvent, parseStackStatusChange, type StackStatusChange } from '#core/teardown/stack-events';
import { cloudFormation, documents, stepFunctions } from '#core/wiring';

// Built once per container.
const store = new DynamoTeardownStore(documents(), requireEnv('STATE_TABLE_NAME'));
const tasks = new StepFunctionsTeardown(stepFunctions(), requireEnv('TEARDOWN_STATE_MACHINE_ARN'));
// Confirms a status event that carries no client-request-token (DescribeStacks by StackId).
const stacks = new CloudFormationTeardown(cloudFormation());
const home = homeLocation();

export const handler = lambdaHandler(
  async (event: StackStatusChange) => {
    const outcome = await handleStackEvent(event, { store, tasks, stacks, home });
    logger.info('stack status change handled', { outcome });
    return outcome;
  },
  { correlationIdPath: 'id', parse: parseStackStatusChange },
);
