import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { CloudFormationTeardown } from '#core/adapters/cloudformation';
import { createDocumentClient } from '#core/adapters/dynamodb';
import { StepFunctionsTeardown } from '#core/adapters/stepfunctions';
import { DynamoTeardownStore } from '#core/adapters/teardown-store';
import { clientSettings } from '#core/clients';
import { requireEnv } from '#core/config';
import { lambdaHandler } from '#core/handler';
import { logger } from '#core/powertools';
import { handleStackEvent } from '#core/teardown/stack-events';

// Built once per container.
const store = new DynamoTeardownStore(
  createDocumentClient(new DynamoDBClient(clientSettings())),
  requireEnv('STATE_TABLE_NAME'),
);
const tasks = new StepFunctionsTeardown(new SFNClient(clientSettings()), requireEnv('TEARDOWN_STATE_MACHINE_ARN'));
// Confirms a status event that carries no client-request-token (DescribeStacks by StackId).
const stacks = new CloudFormationTeardown(new CloudFormationClient(clientSettings()));

export const handler = lambdaHandler(
  async (event: unknown) => {
    const outcome = await handleStackEvent(event, { store, tasks, stacks });
    logger.info('stack status change handled', { outcome });
    return outcome;
  },
  { correlationIdPath: 'id' },
);
