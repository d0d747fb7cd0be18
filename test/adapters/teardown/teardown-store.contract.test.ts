/**
 * One contract for every TeardownStore: the fake the workflow tests run on (test/workflow/harness.ts) and the
 * DynamoDB adapter on dynalite. The fake once kept waits after they were deleted and appended runs instead of
 * replacing them; here both answer every step the same way, through the port only.
 */
import { describe, expect, it } from 'vitest';
import { DynamoTeardownStore } from '#core/adapters/teardown-store';
import type { RunRecord, TeardownStore, WaitRecord } from '#core/teardown/ports';
import { useDynalite } from '../../helpers/dynalite.ts';
import { MemoryStore } from '../../workflow/harness.ts';

const dynamo = useDynalite();

const STORES: Array<[string, () => TeardownStore]> = [
  ['MemoryStore (the workflow tests’ fake)', () => new MemoryStore()],
  ['DynamoTeardownStore (dynalite)', () => new DynamoTeardownStore(dynamo().doc, dynamo().tableName)],
];

let n = 0;
const stack = () =>
  `arn:aws:cloudformation:us-east-1:123456789012:stack/test-${++n}/0a1b2c3d-0000-1111-2222-33334444${String(n).padStart(4, '0')}`;
const wait = (stackId: string, token: string, over: Partial<WaitRecord> = {}): WaitRecord => ({
  stackId,
  clientRequestToken: token,
  taskToken: `task-${token}`,
  runId: 'run-1',
  createdAt: '2026-03-02T10:00:00.000Z',
  expiresAt: 1_772_500_000,
  ...over,
});

describe.each(STORES)('TeardownStore contract: %s', (_name, make) => {
  it('keeps one wait per stack and token: a second put replaces it, a delete removes only that one', async () => {
    const store = make();
    const id = stack();
    await store.putWait(wait(id, 'delete-1'));
    await store.putWait(wait(id, 'stabilise'));
    await store.putWait(wait(id, 'delete-1', { taskToken: 'task-again' }));
    expect((await store.waitsFor(id)).map((w) => `${w.clientRequestToken}:${w.taskToken}`).sort()).toEqual([
      'delete-1:task-again',
      'stabilise:task-stabilise',
    ]);
    expect(await store.waitsFor(id, 'stabilise')).toEqual([wait(id, 'stabilise')]);
    await store.deleteWait(id, 'delete-1');
    await store.deleteWait(id, 'never-stored');
    expect(await store.waitsFor(id)).toEqual([wait(id, 'stabilise')]);
    expect(await store.waitsFor(stack())).toEqual([]);
  });

  it('keeps the first start of a run, whatever is written after it', async () => {
    const store = make();
    const run: RunRecord = {
      runId: `run-${++n}`,
      pipeline: 'web',
      executionId: '8c2a4a4e-1c1d-4d6e-9a5b-3f3c2b1a0e9d',
      reason: 'FAILED',
      dryRun: false,
      status: 'RUNNING',
      startedAt: '2026-03-02T10:00:00.000Z',
    };
    expect(await store.startRun(run)).toEqual({ startedAt: '2026-03-02T10:00:00.000Z' });
    expect(await store.startRun({ ...run, startedAt: '2026-03-02T11:00:00.000Z' })).toEqual({
      startedAt: '2026-03-02T10:00:00.000Z',
    });
    await store.putRun({ ...run, status: 'FINISHED', finishedAt: '2026-03-02T10:05:00.000Z', counts: { DELETED: 1 } });
    expect(await store.startRun({ ...run, startedAt: '2026-03-02T12:00:00.000Z' })).toEqual({
      startedAt: '2026-03-02T10:00:00.000Z',
    });
  });
});
