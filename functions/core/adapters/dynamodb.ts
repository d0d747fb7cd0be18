import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { clientSettings } from '../clients.ts';

/** A DocumentClient that drops undefined attributes (optional fields) instead of failing the write. */
export const createDocumentClient = (client = new DynamoDBClient(clientSettings())): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });

/** True when a conditional write lost (the record already exists / is in another state). */
export const isConditionalCheckFailed = (err: unknown): boolean =>
  typeof err === 'object' &&
  err !== null &&
  'name' in err &&
  (err.name === 'ConditionalCheckFailedException' || err.name === 'TransactionCanceledException');
