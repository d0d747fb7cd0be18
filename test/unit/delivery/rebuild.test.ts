import { describe, expect, it } from 'vitest';
import { rebuildSummaries } from '#core/delivery/rebuild';
import type { TimelineRecord } from '#core/timeline/record';
import { MemoryDeliveryStore, MemoryTimelineStore } from '../timeline/fakes.ts';

const record = (executionId: string, over: Partial<TimelineRecord>): TimelineRecord => ({
  type: 'execution',
  pipeline: 'web',
  executionId,
  state: 'SUCCEEDED',
  stateAt: '2026-03-02T10:30:00.000Z',
  firstSeenAt: '2026-03-02T10:00:00.000Z',
  startedAt: '2026-03-02T10:00:00.000Z',
  endedAt: '2026-03-02T10:30:00.000Z',
  lastEventId: 'e',
  ...over,
});

describe('rebuilding delivery summaries from the timeline', () => {
  it('projects every record, reads the source time of deployments only, and changes nothing the second time', async () => {
    const timeline = new MemoryTimelineStore();
    await timeline.put(record('ok', {}), undefined);
    await timeline.put(record('ok', { type: 'stage-execution', stage: 'Deploy' }), undefined);
    await timeline.put(record('failed', { state: 'FAILED' }), undefined);
    await timeline.put(record('failed', { type: 'stage-execution', stage: 'Source' }), undefined);
    await timeline.put(record('other', { pipeline: 'api' }), undefined);
    const store = new MemoryDeliveryStore();
    const asked: string[] = [];
    const sourceTime = {
      read: async (_p: string, id: string) => {
        asked.push(id);
        return '2026-03-02T09:00:00.000Z';
      },
      policy: { productionStage: 'Deploy' },
    };
    const range = { from: '2026-03-01T00:00:00.000Z', to: '2026-03-03T00:00:00.000Z' };
    const progress: string[] = [];
    const out = await rebuildSummaries(timeline, store, 'web', range, {
      sourceTime,
      progress: (done, total) => progress.push(`${done}/${total}`),
    });
    expect(out).toEqual({ executions: 2, written: 2, unchanged: 0 });
    expect(progress).toEqual(['1/2', '2/2']);
    expect(asked).toEqual(['ok']);
    expect((await store.get('ok'))?.summary).toMatchObject({
      sourceAt: '2026-03-02T09:00:00.000Z',
      stages: { Deploy: { state: 'SUCCEEDED' } },
    });
    expect((await store.get('failed'))?.summary.sourceAt).toBeUndefined();
    expect(await store.get('other')).toBeUndefined();
    expect(await rebuildSummaries(timeline, store, 'web', range, { sourceTime })).toEqual({
      executions: 2,
      written: 0,
      unchanged: 2,
    });
    expect(asked).toEqual(['ok']);
  });
});
