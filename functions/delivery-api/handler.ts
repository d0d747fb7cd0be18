import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { DynamoReadModels } from '#core/adapters/read-models';
import { requireEnv } from '#core/config';
import { lambdaHandler } from '#core/handler';
import { systemClock } from '#core/ports';
import { logger } from '#core/powertools';
import { parseHttpApiEvent } from '#core/schemas/http-api';
import { documents, settingsStore } from '#core/wiring';
import { type DeliveryApiDeps, handleDeliveryRequest } from './http.ts';

// Composition root: clients and configuration built once per container; required env fails at init.
const tableName = requireEnv('STATE_TABLE_NAME');
const settings = settingsStore();
const reads = new DynamoReadModels(documents(), tableName);

const deps: DeliveryApiDeps = {
  timeline: reads,
  delivery: reads,
  teardown: reads,
  settings: () => settings.settings(),
  clock: systemClock,
  logger,
};

/** `GET /pipelines/{name}/executions` and `GET /pipelines/{name}/metrics`, behind IAM authorization. */
export const handler = lambdaHandler((event: APIGatewayProxyEventV2) => handleDeliveryRequest(event, deps), {
  correlationIdPath: 'requestContext.requestId',
  parse: parseHttpApiEvent,
});
