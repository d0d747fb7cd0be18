import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { toDomainError } from '../errors.ts';
import type { Location } from '../organization/location.ts';
import { timelineKeys } from './timeline-keys.ts';

/**
 * Where an execution ran, from its timeline record (the account and region of the events the hub received for it):
 * one GetItem, for the sweeper, which may not read anything else of the timeline. Undefined: the hub never saw it.
 */
export const executionLocation = async (
  doc: DynamoDBDocumentClient,
  table: string,
  executionId: string,
): Promise<Location | undefined> => {
  try {
    const out = await doc.send(
      new GetCommand({
        TableName: table,
        Key: timelineKeys({ type: 'execution', executionId }),
        ProjectionExpression: '#a, #r',
        ExpressionAttributeNames: { '#a': 'account', '#r': 'region' },
      }),
    );
    const account = out.Item?.account;
    const region = out.Item?.region;
    return typeof account === 'string' && typeof region === 'string' ? { accountId: account, region } : undefined;
  } catch (err) {
    throw toDomainError(err, 'timeline GetItem (execution location)');
  }
};
