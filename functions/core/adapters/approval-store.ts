import { randomBytes } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ApprovalRecord, ApprovalStatus, Channel, Decision, SlackPost } from '../approvals/model.ts';
import type { ApprovalStore, AuditEntry, ClaimField, DecisionPatch, SnsDetails } from '../approvals/ports.ts';
import { toDomainError } from '../errors.ts';
import { isConditionalCheckFailed } from './dynamodb.ts';

/**
 * Approvals in the single table.
 *   approval   pk APPROVAL#<id>  sk META            type 'approval', gsi1 APPROVALS#<pipeline> / <execution>#<stage>#<action>#<id>
 *   vote       pk APPROVAL#<id>  sk VOTE#<voter>    one per person (conditional put)
 *   nonce      pk APPROVAL#<id>  sk NONCE#<nonce>   a used page nonce (conditional put)
 *   audit      pk APPROVAL#<id>  sk AUDIT#<at>#<r>  immutable; gsi1 APPROVAL_AUDIT#<pipeline> / <execution>#<at>
 *   pending    pk APPROVALS_PENDING sk <id>          the reminder sweep's worklist, removed when the approval ends
 * Approval, vote and nonce items expire (`ttl`) 30 days after the approval's deadline; audit items never do.
 */
const PENDING_PK = 'APPROVALS_PENDING';
const RETAIN_AFTER_EXPIRY_S = 30 * 24 * 3600;
const META_KEYS = new Set([
  'pk',
  'sk',
  'type',
  'gsi1pk',
  'gsi1sk',
  'ttl',
  // Write markers that make retried writes recognise themselves: not part of the record.
  'writeId',
  'notifiedWrite',
  'decidingBy',
  'announcedAtBy',
  'lastRemindedAtBy',
  'escalatedAtBy',
]);

const pk = (id: string) => `APPROVAL#${id}`;
const ttlFor = (expiresAt: string) => Math.floor(Date.parse(expiresAt) / 1000) + RETAIN_AFTER_EXPIRY_S;

export const approvalGsi = (r: Pick<ApprovalRecord, 'pipeline' | 'executionId' | 'stage' | 'action' | 'id'>) => ({
  gsi1pk: `APPROVALS#${r.pipeline}`,
  gsi1sk: `${r.executionId}#${r.stage}#${r.action}#${r.id}`,
});

const toRecord = (item: Record<string, unknown> | undefined): ApprovalRecord | undefined => {
  if (!item) return undefined;
  return Object.fromEntries(Object.entries(item).filter(([k]) => !META_KEYS.has(k))) as ApprovalRecord;
};

const N = { '#s': 'status' };

export class DynamoApprovalStore implements ApprovalStore {
  readonly #db: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(db: DynamoDBDocumentClient, tableName: string) {
    this.#db = db;
    this.#table = tableName;
  }

  async create(record: ApprovalRecord): Promise<boolean> {
    // The worklist entry first: if we crash after it, the sweep finds no record and skips it.
    await this.#send('put pending marker', () =>
      this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: { pk: PENDING_PK, sk: record.id, ttl: ttlFor(record.expiresAt) },
        }),
      ),
    );
    return this.#putOnce('create approval', {
      ...record,
      pk: pk(record.id),
      sk: 'META',
      type: 'approval',
      ...approvalGsi(record),
      ttl: ttlFor(record.expiresAt),
    });
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const out = await this.#send('get approval', () =>
      this.#db.send(new GetCommand({ TableName: this.#table, Key: { pk: pk(id), sk: 'META' }, ConsistentRead: true })),
    );
    return toRecord(out.Item);
  }

  async consumeNonce(id: string, nonce: string, expiresAt: Date): Promise<boolean> {
    return this.#putOnce('consume nonce', {
      pk: pk(id),
      sk: `NONCE#${nonce}`,
      ttl: Math.floor(expiresAt.getTime() / 1000) + RETAIN_AFTER_EXPIRY_S,
    });
  }

  async putVote(
    id: string,
    voterKey: string,
    vote: { decision: Decision; channel: Channel; at: string },
  ): Promise<boolean> {
    return this.#putOnce('put vote', {
      pk: pk(id),
      sk: `VOTE#${voterKey}`,
      ...vote,
      ttl: Math.floor(Date.parse(vote.at) / 1000) + 2 * RETAIN_AFTER_EXPIRY_S,
    });
  }

  async retractVote(id: string, voterKey: string): Promise<void> {
    await this.#send('retract vote', () =>
      this.#db.send(new DeleteCommand({ TableName: this.#table, Key: { pk: pk(id), sk: `VOTE#${voterKey}` } })),
    );
  }

  async addApproval(id: string, label: string): Promise<ApprovalRecord | undefined> {
    // Counted at most once per approver: an SDK retry of an update that was applied but whose answer was lost
    // (a dropped connection) must not add the same person twice and so reach a quorum alone.
    const counted = await this.#update(
      'count approval',
      {
        UpdateExpression:
          'SET approveCount = approveCount + :one, approvers = list_append(approvers, :me), version = version + :one',
        ConditionExpression: '#s = :pending AND NOT contains(approvers, :label)',
        ExpressionAttributeNames: N,
        ExpressionAttributeValues: { ':one': 1, ':me': [label], ':label': label, ':pending': 'PENDING' },
      },
      id,
    );
    if (counted) return counted;
    const current = await this.get(id);
    return current?.status === 'PENDING' && (current.approvers ?? []).includes(label) ? current : undefined;
  }

  async beginDecision(
    id: string,
    now: Date,
    options: { minApprovals?: number; staleBefore: Date },
  ): Promise<ApprovalRecord | undefined> {
    const pendingCond =
      options.minApprovals === undefined ? '#s = :pending' : '(#s = :pending AND approveCount >= :min)';
    // `decidingBy` is this call's own: an SDK retry of this update, after an applied attempt whose answer was lost,
    // still finds itself the decider instead of refusing ("being decided") with nobody deciding.
    return this.#update(
      'begin decision',
      {
        UpdateExpression: 'SET #s = :deciding, decidingSince = :now, decidingBy = :me, version = version + :one',
        ConditionExpression: `${pendingCond} OR (#s = :deciding AND decidingSince < :stale) OR (#s = :deciding AND decidingBy = :me)`,
        ExpressionAttributeNames: N,
        ExpressionAttributeValues: {
          ':pending': 'PENDING',
          ':deciding': 'DECIDING',
          ':now': now.toISOString(),
          ':me': randomBytes(12).toString('hex'),
          ':stale': options.staleBefore.toISOString(),
          ':one': 1,
          ...(options.minApprovals === undefined ? {} : { ':min': options.minApprovals }),
        },
      },
      id,
    );
  }

  async finishDecision(id: string, patch: DecisionPatch): Promise<ApprovalRecord> {
    const sets = [
      '#s = :status',
      'decidedBy = :by',
      'decidedAt = :at',
      'decisionChannel = :ch',
      'version = version + :one',
    ];
    const values: Record<string, unknown> = {
      ':status': patch.status,
      ':by': patch.decidedBy,
      ':at': patch.decidedAt,
      ':ch': patch.decisionChannel,
      ':one': 1,
      ':deciding': 'DECIDING',
    };
    if (patch.comment !== undefined) {
      sets.push('#c = :comment');
      values[':comment'] = patch.comment;
    }
    if (patch.approvedAt !== undefined) {
      sets.push('approvedAt = :approvedAt');
      values[':approvedAt'] = patch.approvedAt;
    }
    const updated = await this.#update(
      'finish decision',
      {
        UpdateExpression: `SET ${sets.join(', ')} REMOVE decidingSince, decidingBy`,
        ConditionExpression: '#s = :deciding',
        ExpressionAttributeNames: { ...N, ...(patch.comment !== undefined ? { '#c': 'comment' } : {}) },
        ExpressionAttributeValues: values,
      },
      id,
    );
    await this.#dropPending(id);
    // Lost only if lifecycle sync closed a decider it took for crashed: report what is stored.
    return updated ?? ((await this.get(id)) as ApprovalRecord);
  }

  async abortDecision(id: string): Promise<void> {
    await this.#update(
      'abort decision',
      {
        UpdateExpression: 'SET #s = :pending, version = version + :one REMOVE decidingSince, decidingBy',
        ConditionExpression: '#s = :deciding',
        ExpressionAttributeNames: N,
        ExpressionAttributeValues: { ':pending': 'PENDING', ':deciding': 'DECIDING', ':one': 1 },
      },
      id,
    );
  }

  async close(
    id: string,
    status: ApprovalStatus,
    reason: string,
    now: Date,
    decidingBefore?: Date,
  ): Promise<ApprovalRecord | undefined> {
    const updated = await this.#update(
      'close approval',
      {
        UpdateExpression:
          'SET #s = :status, closedReason = :reason, closedAt = :now, version = version + :one REMOVE decidingSince, decidingBy',
        ConditionExpression: decidingBefore
          ? '#s = :pending OR (#s = :deciding AND decidingSince < :before)'
          : '#s = :pending',
        ExpressionAttributeNames: N,
        ExpressionAttributeValues: {
          ':status': status,
          ':reason': reason,
          ':now': now.toISOString(),
          ':pending': 'PENDING',
          ':one': 1,
          ...(decidingBefore ? { ':deciding': 'DECIDING', ':before': decidingBefore.toISOString() } : {}),
        },
      },
      id,
    );
    if (updated) await this.#dropPending(id);
    return updated;
  }

  async enrich(id: string, details: SnsDetails): Promise<ApprovalRecord | undefined> {
    const sets = ['expiresAt = :exp', '#ttl = :ttl', '#src = :sns', 'version = version + :one'];
    const values: Record<string, unknown> = {
      ':exp': details.expiresAt,
      ':ttl': ttlFor(details.expiresAt),
      ':sns': 'sns',
      ':eb': 'eventbridge',
      ':pending': 'PENDING',
      ':one': 1,
    };
    for (const key of ['customData', 'externalEntityLink', 'consoleLink'] as const) {
      if (details[key] !== undefined) {
        sets.push(`${key} = :${key}`);
        values[`:${key}`] = details[key];
      }
    }
    return this.#update(
      'enrich approval',
      {
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: '#s = :pending AND #src = :eb',
        ExpressionAttributeNames: { ...N, '#src': 'source', '#ttl': 'ttl' },
        ExpressionAttributeValues: values,
      },
      id,
    );
  }

  async recordNotified(id: string, posts: SlackPost[], emailedTo: string[]): Promise<void> {
    // list_append is not idempotent: each call carries a random id, and an SDK retry of an append that was applied
    // but whose answer was lost finds its own id and stops (else reminders would thread under a post twice).
    const writeId = randomBytes(12).toString('hex');
    try {
      await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: pk(id), sk: 'META' },
          UpdateExpression:
            'SET slackPosts = list_append(if_not_exists(slackPosts, :empty), :posts), emailedTo = list_append(if_not_exists(emailedTo, :empty), :emails), notifiedWrite = :w',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(notifiedWrite) OR notifiedWrite <> :w)',
          ExpressionAttributeValues: { ':empty': [], ':posts': posts, ':emails': emailedTo, ':w': writeId },
        }),
      );
    } catch (err) {
      const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
      if (isConditionalCheckFailed(err) && attempts > 1) {
        const stored = await this.#send('record notified (read back)', () =>
          this.#db.send(
            new GetCommand({ TableName: this.#table, Key: { pk: pk(id), sk: 'META' }, ConsistentRead: true }),
          ),
        );
        if (stored.Item?.notifiedWrite === writeId) return;
      }
      throw toDomainError(err, 'dynamodb record notified');
    }
  }

  async claim(id: string, field: ClaimField, previous: string | undefined, now: Date): Promise<boolean> {
    // `<field>By` names this call, so an SDK retry after an applied attempt whose answer was lost still holds the
    // claim (else nobody would announce, remind or escalate).
    const free = previous === undefined ? 'attribute_not_exists(#f) AND #s = :pending' : '#f = :prev AND #s = :pending';
    return this.#conditional(`claim ${field}`, () =>
      this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: pk(id), sk: 'META' },
          UpdateExpression: 'SET #f = :now, #by = :me',
          ConditionExpression: `(${free}) OR #by = :me`,
          ExpressionAttributeNames: { '#f': field, '#by': `${field}By`, ...N },
          ExpressionAttributeValues: {
            ':now': now.toISOString(),
            ':me': randomBytes(12).toString('hex'),
            ':pending': 'PENDING',
            ...(previous === undefined ? {} : { ':prev': previous }),
          },
        }),
      ),
    );
  }

  async listByExecution(pipeline: string, executionId: string): Promise<ApprovalRecord[]> {
    const items = await this.#queryAll({
      TableName: this.#table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk AND begins_with(gsi1sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `APPROVALS#${pipeline}`, ':prefix': `${executionId}#` },
    });
    return items.map((i) => toRecord(i) as ApprovalRecord);
  }

  async listPendingIds(): Promise<string[]> {
    const items = await this.#queryAll({
      TableName: this.#table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': PENDING_PK },
    });
    return items.map((i) => String(i.sk));
  }

  async audit(entry: AuditEntry): Promise<void> {
    const sk = `AUDIT#${entry.at}#${randomBytes(6).toString('hex')}`;
    // The key is random, so a lost condition can only be this entry's own earlier attempt (a retry after a
    // dropped answer): it is written.
    await this.#conditional('write audit', () =>
      this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...entry,
            pk: pk(entry.approvalId),
            sk,
            type: 'approval-audit',
            gsi1pk: `APPROVAL_AUDIT#${entry.pipeline}`,
            gsi1sk: `${entry.executionId}#${entry.at}`,
          },
          // Audit entries are immutable: never overwrite one.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async listAudit(id: string): Promise<AuditEntry[]> {
    const items = await this.#queryAll({
      TableName: this.#table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :audit)',
      ExpressionAttributeValues: { ':pk': pk(id), ':audit': 'AUDIT#' },
      ConsistentRead: true,
    });
    return items.map((i) => Object.fromEntries(Object.entries(i).filter(([k]) => !META_KEYS.has(k))) as AuditEntry);
  }

  async listAuditByExecution(pipeline: string, executionId: string): Promise<AuditEntry[]> {
    const items = await this.#queryAll({
      TableName: this.#table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk AND begins_with(gsi1sk, :prefix)',
      ExpressionAttributeValues: { ':pk': `APPROVAL_AUDIT#${pipeline}`, ':prefix': `${executionId}#` },
    });
    return items.map((i) => Object.fromEntries(Object.entries(i).filter(([k]) => !META_KEYS.has(k))) as AuditEntry);
  }

  async #dropPending(id: string): Promise<void> {
    await this.#send('drop pending marker', () =>
      this.#db.send(new DeleteCommand({ TableName: this.#table, Key: { pk: PENDING_PK, sk: id } })),
    );
  }

  async #update(
    what: string,
    input: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    },
    id: string,
  ): Promise<ApprovalRecord | undefined> {
    try {
      const out = await this.#db.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: pk(id), sk: 'META' },
          ReturnValues: 'ALL_NEW',
          ...input,
        }),
      );
      return toRecord(out.Attributes);
    } catch (err) {
      if (isConditionalCheckFailed(err)) return undefined;
      throw toDomainError(err, `dynamodb ${what}`);
    }
  }

  async #queryAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.#send('query', () =>
        this.#db.send(new QueryCommand({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) })),
      );
      items.push(...((out.Items ?? []) as Record<string, unknown>[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * A conditional create (`attribute_not_exists`) that stays correct when the SDK retries it: if the first
   * attempt was applied but its answer lost (a dropped connection, a timeout), the retry loses the condition to
   * our own item. Each put carries a random `writeId`; after a retried attempt loses, the stored item is read
   * back, and finding our `writeId` means the write is ours (true), not someone else's (false).
   */
  async #putOnce(what: string, item: Record<string, unknown> & { pk: string; sk: string }): Promise<boolean> {
    const writeId = randomBytes(12).toString('hex');
    try {
      await this.#db.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...item, writeId },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw toDomainError(err, `dynamodb ${what}`);
      const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
      if (attempts <= 1) return false;
      const stored = await this.#send(`${what} (read back)`, () =>
        this.#db.send(
          new GetCommand({ TableName: this.#table, Key: { pk: item.pk, sk: item.sk }, ConsistentRead: true }),
        ),
      );
      return stored.Item?.writeId === writeId;
    }
  }

  async #conditional(what: string, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw toDomainError(err, `dynamodb ${what}`);
    }
  }

  async #send<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toDomainError(err, `dynamodb ${what}`);
    }
  }
}
