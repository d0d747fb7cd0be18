import { describe, expect, it } from 'vitest';
import {
  EXECUTION,
  executionInput,
  newWorld,
  OTHER_EXECUTION,
  outcomeOf,
  ownerTags,
  PIPELINE,
  runTeardown,
  stackArn,
} from './harness.ts';

const register = (w: ReturnType<typeof newWorld>, stackName: string) =>
  w.store.regs.push({ pipeline: PIPELINE, executionId: EXECUTION, stackId: stackArn(stackName), stackName });

describe('teardown workflow (real ASL, aws-local-stepfunctions)', () => {
  it('deletes an owned stack by StackId with a ClientRequestToken and reports DELETED', async () => {
    const w = newWorld();
    w.cloud.add({ stackName: 'test-a' });
    register(w, 'test-a');
    const out = await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-a')?.outcome).toBe('DELETED');
    expect(w.cloud.deletes).toEqual([
      { stackId: stackArn('test-a'), clientRequestToken: expect.stringMatching(/^stagecrew-[0-9a-f]{32}-1$/) },
    ]);
    expect(w.store.waits[0]).toMatchObject({ stackId: stackArn('test-a'), taskToken: 'task-token-1' });
    expect(out).toMatchObject({ status: 'FINISHED', counts: { DELETED: 1 } });
    expect(w.published[0]?.detailType).toBe('Stagecrew Teardown Finished');
    expect(w.slack[0]).toContain('1 deleted');
    expect(w.transitions.get(0)).toBeLessThanOrEqual(12);
  });
});
