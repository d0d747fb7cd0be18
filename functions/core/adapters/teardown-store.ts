import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { awsErrorName, toDomainError } from '../errors.ts';
import { TEARDOWN_RECORD_TYPE, teardownRecordKey } from '../jobs/ownership.ts';
import type { Registration, RunRecord, StackOutcomeRecord, TeardownStore, WaitRecord } from '../teardown/ports.ts';

/** Outcome and run records are kept 90 days (the same as CloudFormation keeps deleted stacks). */
export const OUTCOME_RETENTION_SECONDS = 90 * 24 * 3600;

/**
 * Teardown records in the state table, next to the registrations of the same pipeline execution:
 * - `TEARDOWN#<pipeline>#<executionId>` / `STACK#<stackId>`: registration (written by register-test-stack)
 * - `TEARDOWN#<pipeline>#<executionId>` / `OUTCOME#<stackId>`: `type: 'teardown-stack'`, the stack's outcome
 * - `TEARDOWN#<pipeline>#<executionId>` / `RUN#<runId>`: `type: 'teardown-run'` (sweeps: `TEARDOWN-SWEEP#<runId>`)
 * - `TEARDOWN-WAIT#<stackId>` / `TOKEN#<clientRequestToken>`: a waiting task token, for StackEventsFunction
 */
export const executionPk = (pipeline: string, executionId: string) => `TEARDOWN#${pipeline}#${executionId}`;
export const waitKey = (stackId: string, clientRequestToken: string) => ({
  pk: `TEARDOWN-WAIT#${stackId}`,
  sk: `TOKEN#${clientRequestToken}`,
});

const epoch = (iso: string) => Math.floor(Date.parse(iso) / 1000);

const runKey = (r: Pick<RunRecord, 'pipeline' | 'executionId' | 'runId'>) => ({
  pk: r.pipeline && r.executionId ? executionPk(r.pipeline, r.executionId) : `TEARDOWN-SWEEP#${r.runId}`,
  sk: `RUN#${r.runId}`,
});

export class DynamoTeardownStore implements TeardownStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, tableName: string) {
    this.#doc = doc;
    this.#table = tableName;
  }

  async registrations(pipeline: string, executionId: string): Promise<Registration[]> {
    const pk = teardownRecordKey(pipeline, executionId, 'x').pk;
    const out: Registration[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    try {
      do {
        const page = await this.#doc.send(
          new QueryCommand({
            TableName: this.#table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
            FilterExpression: '#type = :type',
            ExpressionAttributeNames: { '#type': 'type' },
            ExpressionAttributeValues: { ':pk': pk, ':sk': 'STACK#', ':type': TEARDOWN_RECORD_TYPE },
            ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}),
          }),
        );
        for (const i of page.Items ?? []) {
          out.push({
            stackId: String(i.stackId),
            stackName: String(i.stackName),
            ...(i.expiresAt ? { expiresAt: String(i.expiresAt) } : {}),
          });
        }
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return out;
    } catch (err) {
      throw toDomainError(err, `reading teardown registrations of ${pipeline}/${executionId}`);
    }
  }

  async putWait(r: WaitRecord): Promise<void> {
    await this.#put(
      { ...waitKey(r.stackId, r.clientRequestToken), type: 'teardown-wait', ...r, ttl: r.expiresAt },
      'storing a teardown wait',
    );
  }

  async waitsFor(stackId: string, clientRequestToken?: string): Promise<WaitRecord[]> {
    const key = waitKey(stackId, clientRequestToken ?? '');
    try {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: clientRequestToken ? 'pk = :pk AND sk = :sk' : 'pk = :pk AND begins_with(sk, :sk)',
          ExpressionAttributeValues: { ':pk': key.pk, ':sk': clientRequestToken ? key.sk : 'TOKEN#' },
        }),
      );
      return (page.Items ?? []).map((i) => ({
        stackId: String(i.stackId),
        clientRequestToken: String(i.clientRequestToken),
        taskToken: String(i.taskToken),
        runId: String(i.runId),
        createdAt: String(i.createdAt),
        expiresAt: Number(i.expiresAt),
      }));
    } catch (err) {
      throw toDomainError(err, `reading teardown waits of ${stackId}`);
    }
  }

  async deleteWait(stackId: string, clientRequestToken: string): Promise<void> {
    try {
      await this.#doc.send(new DeleteCommand({ TableName: this.#table, Key: waitKey(stackId, clientRequestToken) }));
    } catch (err) {
      throw toDomainError(err, `deleting teardown wait of ${stackId}`);
    }
  }

  async startRun(r: RunRecord): Promise<{ startedAt: string }> {
    const key = runKey(r);
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...key, type: 'teardown-run', ...r, ttl: epoch(r.startedAt) + OUTCOME_RETENTION_SECONDS },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { startedAt: r.startedAt };
    } catch (err) {
      if (awsErrorName(err) !== 'ConditionalCheckFailedException') {
        throw toDomainError(err, 'writing the teardown run record');
      }
    }
    // The run already has a record (a re-run, or this very put retried after its answer was lost): keep its start.
    try {
      const got = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: key, ConsistentRead: true }));
      const startedAt = got.Item?.startedAt;
      return { startedAt: typeof startedAt === 'string' ? startedAt : r.startedAt };
    } catch (err) {
      throw toDomainError(err, 'reading the teardown run record');
    }
  }

  async putRun(r: RunRecord): Promise<void> {
    // A finished run of a pipeline is also indexed under the pipeline by its end, for the weekly teardown figures.
    const index =
      r.pipeline && r.finishedAt ? { gsi1pk: `TEARDOWN-RUNS#${r.pipeline}`, gsi1sk: `${r.finishedAt}#${r.runId}` } : {};
    await this.#put(
      { ...runKey(r), ...index, type: 'teardown-run', ...r, ttl: epoch(r.startedAt) + OUTCOME_RETENTION_SECONDS },
      'writing the teardown run record',
    );
  }

  async putStackOutcome(r: StackOutcomeRecord): Promise<void> {
    await this.#put(
      {
        pk: executionPk(r.pipeline, r.executionId),
        sk: `OUTCOME#${r.stackId}`,
        type: 'teardown-stack',
        ...r,
        ttl: epoch(r.recordedAt) + OUTCOME_RETENTION_SECONDS,
      },
      `writing the teardown outcome of ${r.stackName ?? r.stackId}`,
    );
  }

  async #put(Item: Record<string, unknown>, what: string): Promise<void> {
    try {
      await this.#doc.send(new PutCommand({ TableName: this.#table, Item }));
    } catch (err) {
      throw toDomainError(err, what);
    }
  }
}
