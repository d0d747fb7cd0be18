import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
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

export const handler = lambdaHandler(
  async (event: unknown) => {
    const outcome = await handleStackEvent(event, { store, tasks });
    logger.info('stack status change handled', { outcome });
    return outcome;
  },
  { correlationIdPath: 'id' },
);
