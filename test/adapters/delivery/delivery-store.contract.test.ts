/**
 * One contract for every DeliveryStore: the in-memory fake the pipeline-events tests use and the DynamoDB adapter
 * (on dynalite, the template's table shape) must answer the same, so the property tests that run on the fake
 * speak for the adapter: revision-checked writes, and a window read by anchor time on gsi1, oldest first.
 */
import { describe, expect, it } from 'vitest';
import { DynamoDeliveryStore } from '#core/adapters/delivery-store';
import { DynamoReadModels } from '#core/adapters/read-models';
import { DynamoTeardownStore } from '#core/adapters/teardown-store';
import type { DeliveryStore } from '#core/delivery/ports';
import type { DeliverySummary } from '#core/delivery/summary';
import { ConflictError } from '#core/errors';
import { useDynalite } from '../../helpers/dynalite.ts';
import { MemoryDeliveryStore } from '../../unit/timeline/fakes.ts';

const dynamo = useDynalite();

const STORES: Array<[string, () => DeliveryStore]> = [
  ['MemoryDeliveryStore (the unit-test fake)', () => new MemoryDeliveryStore()],
  ['DynamoDeliveryStore (dynalite)', () => new DynamoDeliveryStore(dynamo().doc, dynamo().tableName)],
];

let n = 0;
const summary = (pipeline: string, anchorAt: string, over: Partial<DeliverySummary> = {}): DeliverySummary => ({
  pipeline,
  executionId: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  anchorAt,
  stages: {},
  approvals: {},
  ...over,
});

describe.each(STORES)('DeliveryStore contract: %s', (_name, make) => {
  it('creates once, then writes only over the revision it read', async () => {
    const store = make();
    const s = summary('contract-a', '2026-03-02T10:00:00.000Z', {
      execution: { rev: 1, state: 'STARTED', startedAt: '2026-03-02T10:00:00.000Z', triggerType: 'WebhookV2' },
      stages: { 'Deploy.Prod/eu': { rev: 2, state: 'SUCCEEDED', at: '2026-03-02T10:05:00.000Z' } },
      approvals: { 'Approve/Manual': { rev: 1, state: 'STARTED', seenAt: '2026-03-02T10:01:00.000Z' } },
      sourceAt: '2026-03-02T09:00:00.000Z',
    });
    await store.put(s, undefined);
    await expect(store.put(s, undefined)).rejects.toBeInstanceOf(ConflictError);
    expect(await store.get(s.executionId)).toEqual({ summary: s, revision: 1 });
    const next = { ...s, anchorAt: '2026-03-02T09:59:59.000Z' };
    await store.put(next, 1);
    await expect(store.put(s, 1)).rejects.toBeInstanceOf(ConflictError);
    expect(await store.get(s.executionId)).toEqual({ summary: next, revision: 2 });
    expect(await store.get('00000000-0000-4000-8000-999999999999')).toBeUndefined();
  });

  it('lists a pipeline’s window [from, to) by anchor time, oldest first; a moved anchor moves the summary', async () => {
    const store = make();
    const p = `contract-list-${n}`;
    const at = (h: number) => `2026-03-0${Math.floor(h / 24) + 2}T${String(h % 24).padStart(2, '0')}:00:00.000Z`;
    const inside = [summary(p, at(5)), summary(p, at(1)), summary(p, at(0)), summary(p, at(30))];
    const outside = [summary(p, at(48)), summary(`${p}-other`, at(5))];
    for (const s of [...inside, ...outside]) await store.put(s, undefined);
    const list = await store.list(p, at(0), at(48));
    expect(list.map((s) => s.anchorAt)).toEqual([at(0), at(1), at(5), at(30)]);

    const moved = { ...(inside[3] as DeliverySummary), anchorAt: at(2) };
    await store.put(moved, 1);
    expect((await store.list(p, at(0), at(48))).map((s) => s.anchorAt)).toEqual([at(0), at(1), at(2), at(5)]);
    expect(await store.list(p, at(49), at(60))).toEqual([]);
  });
});

describe('the read API’s queries (dynalite)', () => {
  it('reads summaries, executions and finished teardown runs with index queries only', async () => {
    const reads = new DynamoReadModels(dynamo().doc, dynamo().tableName);
    const writer = new DynamoDeliveryStore(dynamo().doc, dynamo().tableName);
    const s = summary('reads', '2026-03-02T10:00:00.000Z');
    await writer.put(s, undefined);
    expect(await reads.list('reads', '2026-03-01T00:00:00.000Z', '2026-03-03T00:00:00.000Z')).toEqual([s]);

    const teardown = new DynamoTeardownStore(dynamo().doc, dynamo().tableName);
    const run = {
      runId: 'run-1',
      pipeline: 'reads',
      executionId: s.executionId,
      reason: 'FAILED',
      dryRun: false,
      status: 'FINISHED' as const,
      startedAt: '2026-03-02T11:00:00.000Z',
      finishedAt: '2026-03-02T11:05:00.000Z',
      counts: { DELETED: 2 },
    };
    await teardown.putRun(run);
    // A run still going is not indexed (no end yet), a sweep has no pipeline.
    const { finishedAt: _end, ...running } = run;
    await teardown.putRun({ ...running, runId: 'run-2', status: 'RUNNING' });
    expect(await reads.finishedRuns('reads', '2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z')).toEqual([run]);
    expect(await reads.finishedRuns('reads', '2026-03-02T11:05:00.001Z', '2026-03-03T00:00:00.000Z')).toEqual([]);
    expect(await reads.listExecutions('reads')).toEqual([]);
  });
});
