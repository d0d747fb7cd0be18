/**
 * One contract for every TimelineStore: the in-memory fake the pipeline-events tests (and their property tests)
 * run on, and the DynamoDB adapter on dynalite (the template's table shape), so the fake cannot drift from the
 * adapter's revision conditions and index order.
 */
import { describe, expect, it } from 'vitest';
import { DynamoTimelineStore } from '#core/adapters/timeline-store';
import type { TimelineVersions } from '#core/delivery/rebuild';
import { ConflictError } from '#core/errors';
import type { TimelineStore } from '#core/timeline/ports';
import type { TimelineRecord } from '#core/timeline/record';
import { useDynalite } from '../../helpers/dynalite.ts';
import { MemoryTimelineStore } from '../../unit/timeline/fakes.ts';

const dynamo = useDynalite();

const STORES: Array<[string, () => TimelineStore & TimelineVersions]> = [
  ['MemoryTimelineStore (the unit-test fake)', () => new MemoryTimelineStore()],
  ['DynamoTimelineStore (dynalite)', () => new DynamoTimelineStore(dynamo().doc, dynamo().tableName)],
];

let n = 0;
const execution = (pipeline: string, startedAt: string, over: Partial<TimelineRecord> = {}): TimelineRecord => ({
  type: 'execution',
  pipeline,
  executionId: `10000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  state: 'STARTED',
  stateAt: startedAt,
  firstSeenAt: startedAt,
  startedAt,
  lastEventId: `event-${n}`,
  ...over,
});

describe.each(STORES)('TimelineStore contract: %s', (_name, make) => {
  it('creates a record once, then writes only over the revision it read', async () => {
    const store = make();
    const r = execution('contract-t', '2026-03-02T10:00:00.000Z');
    await store.put(r, undefined);
    await expect(store.put(r, undefined)).rejects.toBeInstanceOf(ConflictError);
    expect(await store.get(r)).toEqual({ record: r, revision: 1 });
    const ended = {
      ...r,
      state: 'SUCCEEDED' as const,
      stateAt: '2026-03-02T10:05:00.000Z',
      endedAt: '2026-03-02T10:05:00.000Z',
    };
    await store.put(ended, 1);
    await expect(store.put(r, 1)).rejects.toBeInstanceOf(ConflictError);
    expect(await store.get(r)).toEqual({ record: ended, revision: 2 });
  });

  it('lists a pipeline’s executions newest first (by start), and an execution with its stages and actions', async () => {
    const store = make();
    const p = `contract-list-${n}`;
    const older = execution(p, '2026-03-02T10:00:00.000Z');
    const newer = execution(p, '2026-03-03T10:00:00.000Z');
    const other = execution(`${p}-other`, '2026-03-04T10:00:00.000Z');
    for (const r of [newer, older, other]) await store.put(r, undefined);
    expect((await store.listExecutions(p)).map((r) => r.executionId)).toEqual([newer.executionId, older.executionId]);
    expect(await store.listExecutions(p, { limit: 1 })).toEqual([newer]);

    const stage: TimelineRecord = { ...older, type: 'stage-execution', stage: 'Build', lastEventId: 's1' };
    const action: TimelineRecord = {
      ...older,
      type: 'action-execution',
      stage: 'Build',
      action: 'Compile',
      lastEventId: 'a1',
    };
    await store.put(stage, undefined);
    await store.put(action, undefined);
    const rows = await store.listExecution(older.executionId);
    expect(rows.map((r) => r.type).sort()).toEqual(['action-execution', 'execution', 'stage-execution']);
    expect(rows.find((r) => r.type === 'action-execution')).toEqual(action);
  });

  it('finds a pipeline’s executions started in [from, to) and reads each one’s records with their revisions', async () => {
    const store = make();
    const p = `contract-versions-${n}`;
    const a = execution(p, '2026-03-02T10:00:00.000Z');
    const b = execution(p, '2026-03-03T00:00:00.000Z');
    for (const r of [a, b, execution(p, '2026-03-01T23:59:59.000Z')]) await store.put(r, undefined);
    await store.put({ ...a, state: 'FAILED', endedAt: '2026-03-02T10:01:00.000Z' }, 1);
    const stage: TimelineRecord = { ...a, type: 'stage-execution', stage: 'Deploy', lastEventId: 's' };
    await store.put(stage, undefined);
    expect(await store.executionsBetween(p, '2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z')).toEqual([
      a.executionId,
    ]);
    const versions = await store.versionsOf(a.executionId);
    expect(versions.map((v) => `${v.record.type}@${v.revision}`).sort()).toEqual(['execution@2', 'stage-execution@1']);
  });
});
