import { describe, expect, it } from 'vitest';
import { EXECUTION_NAME_MAX, planTeardown, teardownExecutionName } from '#core/teardown/trigger';
import failed from '../../../events/eventbridge-codepipeline-pipeline-failed.json' with { type: 'json' };

const policy = { onSuccess: false, onSuperseded: false, graceSeconds: 300, dryRun: false };
const id = '12345678-1234-5678-abcd-12345678abcd';
const change = (state: string) => ({ pipeline: 'app', 'execution-id': id, state });

describe('planTeardown', () => {
  it('starts teardown of a FAILED execution from the EventBridge detail, with the policy in the input', () => {
    const plan = planTeardown(failed.detail, { ...policy, graceSeconds: 60, dryRun: true });
    expect(plan).toEqual({
      action: 'start',
      name: `${failed.detail.pipeline}--${failed.detail['execution-id']}`,
      input: {
        pipeline: failed.detail.pipeline,
        executionId: failed.detail['execution-id'],
        reason: 'FAILED',
        dryRun: true,
        graceSeconds: 60,
      },
    });
  });

  it.each(['FAILED', 'STOPPED', 'CANCELED'])('always starts on %s', (state) => {
    expect(planTeardown(change(state), policy)).toMatchObject({ action: 'start', input: { reason: state } });
  });

  it('starts on SUPERSEDED and SUCCEEDED only when the policy says so', () => {
    expect(planTeardown(change('SUPERSEDED'), policy)).toBeUndefined();
    expect(planTeardown(change('SUCCEEDED'), policy)).toBeUndefined();
    expect(planTeardown(change('SUPERSEDED'), { ...policy, onSuperseded: true })).toMatchObject({ action: 'start' });
    expect(planTeardown(change('SUCCEEDED'), { ...policy, onSuccess: true })).toMatchObject({ action: 'start' });
  });

  it('stops the same execution name on RESUMED', () => {
    const start = planTeardown(change('FAILED'), policy);
    expect(planTeardown(change('RESUMED'), policy)).toEqual({ action: 'stop', name: start?.name });
  });

  it('accepts a parsed transition (executionId, scope) and ignores stage and action scopes', () => {
    const t = { pipeline: 'app', executionId: id, state: 'FAILED', scope: 'pipeline' };
    expect(planTeardown(t, policy)?.name).toBe(`app--${id}`);
    expect(planTeardown({ ...t, scope: 'stage' }, policy)).toBeUndefined();
    expect(planTeardown({ ...change('FAILED'), stage: 'Test' }, policy)).toBeUndefined();
    expect(planTeardown(change('STARTED'), policy)).toBeUndefined();
    expect(planTeardown(change('STOPPING'), policy)).toBeUndefined();
  });
});

describe('teardownExecutionName', () => {
  it('is deterministic and keeps to the allowed characters and length', () => {
    const long = 'p'.repeat(100);
    const name = teardownExecutionName(long, id);
    expect(name).toBe(teardownExecutionName(long, id));
    expect(name.length).toBeLessThanOrEqual(EXECUTION_NAME_MAX);
    expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(name.endsWith(id)).toBe(true);
  });

  it('never gives two pipelines that differ only in replaced characters the same name', () => {
    const a = teardownExecutionName('team.app', id);
    const b = teardownExecutionName('team_app', id);
    const c = teardownExecutionName('team@app', id);
    expect(new Set([a, b, c]).size).toBe(3);
    expect(a).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });

  it('differs per execution even when the pipeline name is cut', () => {
    const long = 'x'.repeat(100);
    expect(teardownExecutionName(long, id)).not.toBe(teardownExecutionName(long, id.replace('1', '2')));
  });
});
