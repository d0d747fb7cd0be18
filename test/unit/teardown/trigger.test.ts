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
    expect(planTeardown(change('RESUMED'), policy)).toEqual({
      action: 'stop',
      name: start && 'name' in start ? start.name : undefined,
    });
  });

  it('accepts a parsed transition (executionId, scope) and ignores stage and action scopes', () => {
    const t = { pipeline: 'app', executionId: id, state: 'FAILED', scope: 'pipeline' };
    expect(planTeardown(t, policy)).toMatchObject({ name: `app--${id}` });
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

  describe('across accounts (docs/ORGANIZATION.md)', () => {
    const home = { accountId: '111111111111', region: 'us-east-1' };
    const reach = { home, accounts: ['222222222222'] };

    it('names where a member pipeline lives, and nothing for the hub own pipelines', () => {
      const member = planTeardown({ ...change('FAILED'), account: '222222222222', region: 'eu-west-1' }, policy, reach);
      expect(member).toMatchObject({
        action: 'start',
        input: { where: { accountId: '222222222222', region: 'eu-west-1' } },
      });
      const own = planTeardown({ ...change('FAILED'), account: '111111111111', region: 'us-east-1' }, policy, reach);
      expect(own && 'input' in own ? own.input.where : 'no input').toBeUndefined();
    });

    it('refuses an execution in an account the hub was not given, and the hub own account in another region', () => {
      expect(
        planTeardown({ ...change('FAILED'), account: '999999999999', region: 'us-east-1' }, policy, reach),
      ).toMatchObject({ action: 'refuse', why: expect.stringContaining('999999999999/us-east-1') });
      expect(
        planTeardown({ ...change('FAILED'), account: '111111111111', region: 'eu-west-1' }, policy, reach),
      ).toMatchObject({ action: 'refuse' });
      // Listed as a member too, the hub's own account may be worked in other regions.
      expect(
        planTeardown({ ...change('FAILED'), account: '111111111111', region: 'eu-west-1' }, policy, {
          home,
          accounts: ['111111111111'],
        }),
      ).toMatchObject({ action: 'start' });
    });
  });
});
