import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors';
import { backoff, clientRequestToken, conclude, inspect, planAfterFailure } from '#core/teardown/decide';
import type { Item } from '#core/teardown/model';
import type { TeardownStack } from '#core/teardown/ports';
import { depsFor, dispatchRaw, EXECUTION, newWorld, ownerTags, stackArn } from '../../workflow/harness.ts';

const now = new Date('2026-01-01T00:00:00Z');
const item = (over: Partial<Item> = {}): Item => ({
  runId: 'run-1',
  pipeline: 'app',
  executionId: EXECUTION,
  reason: 'FAILED',
  dryRun: false,
  policy: { onDeleteFailed: 'report', deleteAttempts: 2, remediate: true, deleteTimeoutMinutes: 90, allowRules: [] },
  stackId: stackArn('test-a'),
  stackName: 'test-a',
  source: 'registration',
  resolved: true,
  attempt: 0,
  mode: 'STANDARD',
  waitSeconds: 30,
  awaitSeconds: 900,
  polls: 0,
  failedResources: [],
  orphans: [],
  remediated: [],
  ...over,
});
const stack = (over: Partial<TeardownStack> = {}): TeardownStack => ({
  stackId: stackArn('test-a'),
  stackName: 'test-a',
  status: 'CREATE_COMPLETE',
  tags: ownerTags(),
  terminationProtection: false,
  ...over,
});

describe('teardown decisions', () => {
  it('checks gone before ownership, ownership before protection', () => {
    expect(inspect(stack({ status: 'DELETE_COMPLETE', tags: {} }), item(), now, () => 0).outcome).toBe('ALREADY_GONE');
    expect(inspect(stack({ tags: {}, terminationProtection: true }), item(), now, () => 0).outcome).toBe(
      'SKIPPED_NOT_OWNED',
    );
    expect(inspect(stack({ terminationProtection: true }), item(), now, () => 0).outcome).toBe('SKIPPED_PROTECTED');
  });

  it('sets a deadline once and times a stuck mid-operation stack out at it', () => {
    const first = inspect(stack({ status: 'UPDATE_IN_PROGRESS' }), item(), now, () => 0);
    expect(first).toMatchObject({ next: 'stabilise', deadline: '2026-01-01T01:30:00.000Z' });
    const late = new Date('2026-01-01T02:00:00Z');
    expect(inspect(stack({ status: 'UPDATE_IN_PROGRESS' }), first, late, () => 0).outcome).toBe('TIMED_OUT');
  });

  it('makes ClientRequestTokens that CloudFormation accepts and that differ per attempt', () => {
    const a = clientRequestToken('run', stackArn('x'), 1);
    expect(a).toMatch(/^[a-zA-Z][-a-zA-Z0-9]{0,127}$/);
    expect(clientRequestToken('run', stackArn('x'), 2)).not.toBe(a);
  });

  it('backs off with bounded jitter and never past the deadline', () => {
    expect(backoff(undefined, 900, 3600, 1e9, () => 0)).toBe(675);
    expect(backoff(900, 900, 3600, 1e9, () => 1, 4)).toBe(3600);
    expect(backoff(900, 900, 3600, 100, () => 1, 4)).toBe(100);
  });

  it('treats any settled non-delete status after DeleteStack as a refusal, export or not', () => {
    const i = item({ attempt: 1, deadline: '2026-01-01T01:30:00.000Z' });
    expect(
      conclude(
        i,
        { status: 'UPDATE_COMPLETE', reason: 'Export x cannot be deleted as it is in use by y', via: 'event' },
        now,
        () => 0,
      ).outcome,
    ).toBe('BLOCKED_BY_EXPORT');
    expect(conclude(i, { status: 'UPDATE_ROLLBACK_COMPLETE', via: 'poll' }, now, () => 0).outcome).toBe(
      'DELETE_FAILED',
    );
    expect(conclude(i, { status: 'DELETE_IN_PROGRESS', via: 'poll' }, now, () => 0).next).toBe('await');
  });

  it('retries with remediation only while attempts remain, then applies the policy', () => {
    const bucket = {
      logicalId: 'B',
      physicalId: 'b',
      type: 'AWS::S3::Bucket',
      status: 'DELETE_FAILED',
      reason: 'BucketNotEmpty',
    };
    expect(planAfterFailure(item({ attempt: 1 }), [bucket], now, () => 0).next).toBe('remediate');
    expect(planAfterFailure(item({ attempt: 2 }), [bucket], now, () => 0).outcome).toBe('DELETE_FAILED');
    const forced = planAfterFailure(
      item({ attempt: 2, policy: { ...item().policy, onDeleteFailed: 'force' } }),
      [bucket],
      now,
      () => 0,
    );
    expect(forced).toMatchObject({ next: 'delete', mode: 'FORCE', orphans: [bucket], attempt: 3 });
  });
});

describe('dispatch', () => {
  it('refuses an unknown action and a delete without a task token with typed errors', async () => {
    const deps = depsFor(newWorld());
    await expect(dispatchRaw({ action: 'nuke' }, deps)).rejects.toBeInstanceOf(ValidationError);
    await expect(dispatchRaw({ action: 'delete', state: { item: item() } }, deps)).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('refuses a state whose deleteTimeoutMinutes exceeds the settings cap before any AWS call', async () => {
    const w = newWorld();
    w.cloud.add({ stackName: 'test-a' });
    const forged = { ...item(), policy: { ...item().policy, deleteTimeoutMinutes: Number.MAX_SAFE_INTEGER } };
    const refused = dispatchRaw({ action: 'inspect', state: { item: forged } }, depsFor(w));
    await expect(refused).rejects.toBeInstanceOf(ValidationError);
    await expect(refused).rejects.toThrow(/policy\.deleteTimeoutMinutes/);
    expect(w.cloud.calls).toEqual([]);
    // The cap itself is accepted, as the settings allow it.
    const capped = { ...item(), policy: { ...item().policy, deleteTimeoutMinutes: 1440 } };
    await expect(dispatchRaw({ action: 'inspect', state: { item: capped } }, depsFor(w))).resolves.toMatchObject({
      item: { stackId: stackArn('test-a') },
    });
  });
});
