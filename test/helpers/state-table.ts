/** Reads of Stagecrew's state table (pk/sk) on the local cloud. */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';

/** Every item under one partition key whose sort key starts with `skPrefix`, unmarshalled. */
export const tableItems = async (
  db: DynamoDBDocumentClient,
  table: string,
  pk: string,
  skPrefix = '',
  options: { consistentRead?: boolean } = {},
): Promise<Record<string, unknown>[]> => {
  const out = await db.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
      ExpressionAttributeValues: { ':pk': pk, ':sk': skPrefix },
      ...(options.consistentRead ? { ConsistentRead: true } : {}),
    }),
  );
  return (out.Items ?? []) as Record<string, unknown>[];
};
