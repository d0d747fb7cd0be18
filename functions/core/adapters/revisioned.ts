import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, toDomainError } from '../errors.ts';
import { isConditionalCheckFailed } from './dynamodb.ts';

/**
 * A revision-checked put (optimistic concurrency): writes `item` with `revision = expected + 1` if the stored item
 * still has revision `expected` (`undefined`: it must not exist yet). Another writer got there first: ConflictError,
 * so the caller reads, merges and tries again.
 */
export const putRevisioned = async (
  doc: DynamoDBDocumentClient,
  table: string,
  item: Record<string, unknown> & { pk: string; sk: string },
  expected: number | undefined,
  now: Date,
  what: string,
): Promise<void> => {
  const condition =
    expected === undefined
      ? { ConditionExpression: 'attribute_not_exists(pk)' }
      : {
          ConditionExpression: '#revision = :revision',
          ExpressionAttributeNames: { '#revision': 'revision' },
          ExpressionAttributeValues: { ':revision': expected },
        };
  try {
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: { ...item, revision: (expected ?? 0) + 1, updatedAt: now.toISOString() },
        ...condition,
      }),
    );
  } catch (err) {
    if (isConditionalCheckFailed(err)) {
      throw new ConflictError(`${what}: ${item.pk} ${item.sk} changed concurrently`, { cause: err });
    }
    throw toDomainError(err, `${what} PutItem`);
  }
};
