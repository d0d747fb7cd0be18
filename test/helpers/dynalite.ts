import type { AddressInfo } from 'node:net';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll } from 'vitest';
import { createDocumentClient } from '#core/adapters/dynamodb';
import { loadTemplate } from '#local/runtime/template';

/**
 * An in-process DynamoDB (dynalite) on a random loopback port holding one table shaped exactly like the
 * template's StateTable (keys, attribute definitions and GSIs read from template.yaml), so adapters'
 * conditional expressions and index queries are evaluated for real rather than only asserted as parameters.
 */
const stateTableShape = (): Pick<
  CreateTableCommandInput,
  'AttributeDefinitions' | 'KeySchema' | 'GlobalSecondaryIndexes'
> => {
  const table = Object.values(loadTemplate('template.yaml').Resources).find((r) => r.Type === 'AWS::DynamoDB::Table');
  if (!table?.Properties) throw new Error('template.yaml has no DynamoDB table');
  const { AttributeDefinitions, KeySchema, GlobalSecondaryIndexes } =
    table.Properties as unknown as CreateTableCommandInput;
  return { AttributeDefinitions, KeySchema, GlobalSecondaryIndexes };
};

export type Dynalite = Awaited<ReturnType<typeof startDynalite>>;

export const startDynalite = async (tableName = 'stagecrew-state') => {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  await client.send(
    new CreateTableCommand({ TableName: tableName, BillingMode: 'PAY_PER_REQUEST', ...stateTableShape() }),
  );
  return {
    endpoint,
    client,
    doc: createDocumentClient(client),
    tableName,
    stop: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

/** Starts dynalite before the file's tests and stops it after them; the getter returns the running one. */
export const useDynalite = (tableName?: string): (() => Dynalite) => {
  let db: Dynalite | undefined;
  beforeAll(async () => {
    db = await startDynalite(tableName);
  });
  afterAll(async () => {
    await db?.stop();
  });
  return () => {
    if (!db) throw new Error('dynalite is not started (use it inside a test)');
    return db;
  };
};
