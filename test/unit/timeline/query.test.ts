import { describe, expect, it } from 'vitest';
import { NotFoundError } from '#core/errors';
import { executionView, pipelineHistory } from '#core/timeline/query';
import { handleRaw, MemoryTimelineStore, makeWorld } from './fakes.ts';
import { fixture } from './fixtures.ts';

const EXEC = '12345678-1234-5678-abcd-12345678abcd';

describe('timeline queries', () => {
  it('returns an execution as stages in run order with their actions', async () => {
    const w = makeWorld();
    for (const name of [
      'stage-failed',
      'action-failed',
      'pipeline-started',
      'action-succeeded',
      'stage-started',
      'action-started',
    ]) {
      await handleRaw(fixture(name), w.deps);
    }
    const view = await executionView(w.timeline, EXEC);
    expect(view.execution).toMatchObject({ type: 'execution', state: 'STARTED' });
    // Source has only an action event so far: a placeholder stage carries it.
    expect(view.stages.map((s) => [s.stage, s.state, s.actions.map((a) => `${a.action}:${a.state}`)])).toEqual([
      ['Source', 'SUCCEEDED', ['Source:SUCCEEDED']],
      ['Prod', 'STARTED', ['myAction:STARTED']],
      ['Deploy', 'FAILED', ['Deploy:FAILED']],
    ]);
    expect(view.stages[0]?.inferred).toBe(true);
    expect(view.stages[1]?.inferred).toBeUndefined();
  });

  it('names an unknown execution with a NotFoundError', async () => {
    await expect(executionView(new MemoryTimelineStore(), EXEC)).rejects.toThrow(NotFoundError);
  });

  it('bounds the history page size', async () => {
    const calls: Array<number | undefined> = [];
    const store = new MemoryTimelineStore();
    store.listExecutions = async (_p, o) => {
      calls.push(o?.limit);
      return [];
    };
    await pipelineHistory(store, 'p', 1000);
    await pipelineHistory(store, 'p', 0);
    expect(calls).toEqual([100, 1]);
  });
});
