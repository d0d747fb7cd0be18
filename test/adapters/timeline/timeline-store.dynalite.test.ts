/**
 * The timeline adapters against a real DynamoDB implementation (in-memory dynalite): proves that the condition
 * expressions, the string-set ADD and the gsi1 ordering do what the mocked tests only assert as parameters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEventLedger, DynamoRateLimiter, DynamoTimelineStore } from '#core/adapters/timeline-store';
import { ConflictError } from '#core/errors';
import { parseCodePipelineEvent } from '#core/schemas/codepipeline-events';
import { recordTransition } from '#core/timeline/record-transition';
import { toTransition } from '#core/timeline/transition';
import { type Dynalite, startDynalite } from '../../helpers/dynalite.ts';
import { fixture } from '../../unit/timeline/fixtures.ts';

const TABLE = 'state';
const EXEC = '12345678-1234-5678-abcd-12345678abcd';
let db: Dynalite;

beforeAll(async () => {
  db = await startDynalite(TABLE);
});

afterAll(async () => {
  await db?.stop();
});

const transition = (name: string, patch: (e: ReturnType<typeof fixture>) => void = () => {}) => {
  const e = fixture(name);
  patch(e);
  return toTransition(parseCodePipelineEvent(e));
};

describe('timeline adapters on DynamoDB (dynalite)', () => {
  it('folds an out-of-order run into one execution with its stage and action, queryable both ways', async () => {
    const store = new DynamoTimelineStore(db.doc, TABLE);
    for (const name of ['pipeline-failed', 'action-failed', 'stage-failed', 'pipeline-started']) {
      await recordTransition(store, transition(name));
    }
    const rows = await store.listExecution(EXEC);
    expect(rows.map((r) => `${r.type}:${r.state}`).sort()).toEqual([
      'action-execution:FAILED',
      'execution:FAILED',
      'stage-execution:FAILED',
    ]);
    const execution = rows.find((r) => r.type === 'execution');
    expect(execution).toMatchObject({ startedAt: '2020-01-24T22:03:07.000Z', durationMs: 405_000 });
    expect(execution).not.toHaveProperty('pk');
  });

  it('orders a pipeline’s executions newest first through gsi1 and rejects a stale revision', async () => {
    const store = new DynamoTimelineStore(db.doc, TABLE);
    const ids = ['aaaaaaaa-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000002'];
    for (const [i, id] of ids.entries()) {
      await recordTransition(
        store,
        transition('pipeline-started', (e) => {
          e.id = `order-${i}`;
          e.detail.pipeline = 'ordered';
          e.detail['execution-id'] = id;
          e.time = `2020-01-2${i + 1}T10:00:00Z`;
        }),
      );
    }
    const listed = await store.listExecutions('ordered');
    expect(listed.map((r) => r.executionId)).toEqual([ids[1], ids[0]]);

    const stored = await store.get({ type: 'execution', executionId: ids[0] as string });
    if (!stored) throw new Error('execution record missing');
    expect(stored.revision).toBe(1);
    await store.put({ ...stored.record, state: 'FAILED' }, 1);
    await expect(store.put({ ...stored.record, state: 'SUCCEEDED' }, 1)).rejects.toThrow(ConflictError);
    await expect(store.put(stored.record, undefined)).rejects.toThrow(ConflictError);
  });

  it('claims an event once, remembers deliveries across a release, and lets an expired lease be taken over', async () => {
    const ledger = new DynamoEventLedger(db.doc, TABLE, { leaseSeconds: 60 });
    const t0 = new Date('2020-01-24T22:00:00Z');
    expect(await ledger.claim('ev-a', t0)).toEqual({ claimed: true, delivered: new Set() });
    expect(await ledger.claim('ev-a', t0)).toEqual({ claimed: false, reason: 'in-progress' });
    await ledger.markDelivered('ev-a', 'slack:C1');
    await ledger.markDelivered('ev-a', 'email:a@example.com');
    await ledger.release('ev-a');
    expect(await ledger.claim('ev-a', t0)).toEqual({
      claimed: true,
      delivered: new Set(['slack:C1', 'email:a@example.com']),
    });
    // The second claim's lease expires (a crashed invocation): a later delivery takes over.
    expect(await ledger.claim('ev-a', new Date(t0.getTime() + 61_000))).toMatchObject({ claimed: true });
    await ledger.complete('ev-a', t0);
    expect(await ledger.claim('ev-a', new Date(t0.getTime() + 3_600_000))).toEqual({ claimed: false, reason: 'done' });
  });

  it('counts a pipeline’s messages per window and stops at the limit', async () => {
    const limiter = new DynamoRateLimiter(db.doc, TABLE);
    const now = new Date('2020-01-24T22:00:05Z');
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.tryAcquire('PIPELINE#flappy', 3, 60, now));
    expect(results.map((r) => [r.allowed, r.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect((await limiter.tryAcquire('PIPELINE#flappy', 3, 60, new Date('2020-01-24T22:01:00Z'))).allowed).toBe(true);
  });
});
