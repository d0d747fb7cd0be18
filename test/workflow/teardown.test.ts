import { describe, expect, it } from 'vitest';
import { clientRequestToken } from '../../functions/core/teardown/decide.ts';
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
  type World,
} from './harness.ts';

const register = (w: World, stackName: string) =>
  w.store.regs.push({ pipeline: PIPELINE, executionId: EXECUTION, stackId: stackArn(stackName), stackName });

const bucketFailure = {
  resources: [
    { logicalId: 'Data', physicalId: 'test-a-data-123', type: 'AWS::S3::Bucket', status: 'DELETE_FAILED' },
    { logicalId: 'Fn', physicalId: 'fn', type: 'AWS::Lambda::Function', status: 'DELETE_COMPLETE' },
  ],
  events: [
    {
      logicalId: 'Data',
      physicalId: 'test-a-data-123',
      type: 'AWS::S3::Bucket',
      status: 'DELETE_FAILED',
      reason:
        'The bucket you tried to delete is not empty (Service: Amazon S3; Status Code: 409; Error Code: BucketNotEmpty)',
      timestamp: '2026-01-01T00:01:00Z',
    },
  ],
};

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
    expect(w.store.runWrites.map((r) => r.status)).toEqual(['RUNNING', 'FINISHED']);
    expect(w.transitions.get(0)).toBeLessThanOrEqual(12);
  });

  it('passes the configured deletion role only to a stack that has no service role of its own', async () => {
    const role = 'arn:aws:iam::123456789012:role/stagecrew-deleter';
    const w = newWorld({ deletionRoleArn: role });
    w.cloud.add({ stackName: 'test-a' });
    w.cloud.add({ stackName: 'test-b', roleArn: 'arn:aws:iam::123456789012:role/app-deployer' });
    register(w, 'test-a');
    register(w, 'test-b');
    await runTeardown(w, executionInput());
    const byStack = Object.fromEntries(w.cloud.deletes.map((d) => [d.stackId, d.roleArn]));
    // DeleteStack without RoleARN uses the stack's own role; a stack without one gets the deletion role.
    expect(byStack).toEqual({ [stackArn('test-a')]: role, [stackArn('test-b')]: undefined });
  });

  it('a stack without a service role whose resources fail for want of rights says what is missing', async () => {
    const w = newWorld();
    const denied =
      'User: arn:aws:sts::123456789012:assumed-role/TeardownTask/x is not authorized to perform: sqs:DeleteQueue';
    w.cloud.add({
      stackName: 'test-a',
      afterDelete: [{ status: 'DELETE_FAILED', reason: 'The following resource(s) failed to delete: [Queue].' }],
      resources: [{ logicalId: 'Queue', physicalId: 'q', type: 'AWS::SQS::Queue', status: 'DELETE_FAILED' }],
      events: [
        {
          logicalId: 'Queue',
          physicalId: 'q',
          type: 'AWS::SQS::Queue',
          status: 'DELETE_FAILED',
          reason: denied,
          timestamp: '2026-01-01T00:01:00Z',
        },
      ],
    });
    register(w, 'test-a');
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-a')).toMatchObject({
      outcome: 'DELETE_FAILED',
      detail: expect.stringContaining(
        'The stack has no service role (RoleARN) and teardown.deletionRoleArn is not set',
      ),
    });
    expect(w.cloud.deletes[0]?.roleArn).toBeUndefined();
  });

  it('reports ALREADY_GONE for a deleted stack and for a deploy action whose stack no longer exists', async () => {
    const w = newWorld();
    w.cloud.add({ stackName: 'test-a', status: 'DELETE_COMPLETE' });
    register(w, 'test-a');
    w.actionStacks = [{ stackName: 'test-never' }];
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-a')?.outcome).toBe('ALREADY_GONE');
    expect(outcomeOf(w, 'test-never')?.outcome).toBe('ALREADY_GONE');
    expect(w.cloud.deletes).toEqual([]);
  });

  it('a re-run of the same run (execution restarted from its input) reports the stack it deleted as DELETED', async () => {
    const w = newWorld();
    const runId = `${PIPELINE}--${EXECUTION}`;
    const stackEvent = (token: string) => ({
      logicalId: 'test-a',
      type: 'AWS::CloudFormation::Stack',
      status: 'DELETE_COMPLETE',
      timestamp: '2026-01-01T00:01:00Z',
      clientRequestToken: token,
    });
    // The first pass's DeleteStack (attempt 1) completed while the workflow was down.
    w.cloud.add({
      stackName: 'test-a',
      status: 'DELETE_COMPLETE',
      events: [stackEvent(clientRequestToken(runId, stackArn('test-a'), 1))],
    });
    // Deleted by someone else (another run's token): still ALREADY_GONE.
    w.cloud.add({
      stackName: 'test-b',
      status: 'DELETE_COMPLETE',
      events: [stackEvent(clientRequestToken('other-run', stackArn('test-b'), 1))],
    });
    register(w, 'test-a');
    register(w, 'test-b');
    await runTeardown(w, executionInput(), runId);
    expect(outcomeOf(w, 'test-a')).toMatchObject({ outcome: 'DELETED', attempts: 1 });
    expect(outcomeOf(w, 'test-b')?.outcome).toBe('ALREADY_GONE');
    expect(w.cloud.deletes).toEqual([]);
  });

  it('a re-run keeps the run record created by the first start (its start time), then finishes it', async () => {
    const w = newWorld();
    const runId = `${PIPELINE}--${EXECUTION}`;
    w.cloud.add({ stackName: 'test-a', tags: ownerTags(EXECUTION) });
    register(w, 'test-a');
    await runTeardown(w, executionInput(), runId);
    const first = w.store.runWrites[0]?.startedAt;
    w.now += 3_600_000; // the execution is started again an hour later from the same input
    await runTeardown(w, executionInput(), runId);
    expect(w.store.runWrites.map((r) => r.status)).toEqual(['RUNNING', 'FINISHED', 'FINISHED']);
    expect(new Set(w.store.runWrites.map((r) => r.startedAt))).toEqual(new Set([first]));
  });

  it('refuses a stack tagged for another execution (name reuse) and one with no ownership at all', async () => {
    const w = newWorld();
    w.cloud.add({ stackName: 'test-shared', tags: ownerTags(OTHER_EXECUTION) });
    w.cloud.add({ stackName: 'prod-app', tags: { team: 'x' } });
    w.actionStacks = [{ stackName: 'test-shared' }, { stackName: 'prod-app' }];
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-shared')).toMatchObject({
      outcome: 'SKIPPED_NOT_OWNED',
      detail: expect.stringContaining(OTHER_EXECUTION),
    });
    expect(outcomeOf(w, 'prod-app')?.outcome).toBe('SKIPPED_NOT_OWNED');
    expect(w.cloud.deletes).toEqual([]);
  });

  it('owns an untagged stack through a per-pipeline allow rule with {executionId}', async () => {
    const w = newWorld({ allowRules: [{ pipeline: 'app', stackName: 'test-{executionId}' }] });
    w.cloud.add({ stackName: `test-${EXECUTION}`, tags: {} });
    w.actionStacks = [{ stackName: `test-${EXECUTION}` }];
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, `test-${EXECUTION}`)?.outcome).toBe('DELETED');
  });

  it('never deletes a stack with termination protection', async () => {
    const w = newWorld();
    w.cloud.add({ stackName: 'test-a', terminationProtection: true });
    register(w, 'test-a');
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-a')?.outcome).toBe('SKIPPED_PROTECTED');
    expect(w.cloud.deletes).toEqual([]);
  });

  it('waits for a stack mid-operation to settle, then deletes it', async () => {
    const w = newWorld();
    w.cloud.add({
      stackName: 'test-a',
      status: 'UPDATE_IN_PROGRESS',
      describeSequence: ['UPDATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE'],
    });
    register(w, 'test-a');
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-a')?.outcome).toBe('DELETED');
    expect(w.cloud.deletes).toHaveLength(1);
  });

  it('retries a throttled describe with backoff and still deletes', async () => {
    const w = newWorld();
    w.cloud.add({ stackName: 'test-a' });
    register(w, 'test-a');
    w.cloud.throttleDescribes = 2;
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-a')?.outcome).toBe('DELETED');
    expect(w.cloud.calls.filter((c) => c.startsWith('describe')).length).toBeGreaterThanOrEqual(4);
  });

  it('DELETE_FAILED on a non-empty bucket: empties the bucket, deletes again with a new token, DELETED', async () => {
    const w = newWorld();
    w.cloud.add({
      stackName: 'test-a',
      afterDelete: [
        { status: 'DELETE_FAILED', reason: 'The following resource(s) failed to delete: [Data].' },
        { status: 'DELETE_COMPLETE' },
      ],
      ...bucketFailure,
    });
    register(w, 'test-a');
    await runTeardown(w, executionInput());
    expect(w.emptied).toEqual(['test-a-data-123']);
    expect(w.cloud.deletes).toHaveLength(2);
    expect(w.cloud.deletes[0]?.clientRequestToken).not.toBe(w.cloud.deletes[1]?.clientRequestToken);
    expect(outcomeOf(w, 'test-a')).toMatchObject({
      outcome: 'DELETED',
      remediated: ['emptied s3://test-a-data-123 (3 objects)'],
    });
    expect(w.transitions.get(0)).toBeLessThanOrEqual(12);
  });

  it('DELETE_FAILED that remediation cannot fix: retains the failed resources with an orphan inventory', async () => {
    const w = newWorld({ onDeleteFailed: 'retain' });
    w.cloud.add({
      stackName: 'test-a',
      afterDelete: [{ status: 'DELETE_FAILED' }, { status: 'DELETE_COMPLETE' }],
      resources: [
        {
          logicalId: 'Sg',
          physicalId: 'sg-123',
          type: 'AWS::EC2::SecurityGroup',
          status: 'DELETE_FAILED',
          reason: 'resource sg-123 has a dependent object (DependencyViolation)',
        },
      ],
    });
    register(w, 'test-a');
    await runTeardown(w, executionInput());
    expect(w.cloud.deletes[1]).toMatchObject({ retainResources: ['Sg'] });
    expect(outcomeOf(w, 'test-a')).toMatchObject({
      outcome: 'RETAINED',
      orphans: [{ logicalId: 'Sg', physicalId: 'sg-123', type: 'AWS::EC2::SecurityGroup' }],
    });
  });

  it('DELETE_FAILED under the report policy ends DELETE_FAILED with the failing resources', async () => {
    const w = newWorld({ onDeleteFailed: 'report' });
    w.cloud.add({
      stackName: 'test-a',
      afterDelete: [{ status: 'DELETE_FAILED' }],
      resources: [
        {
          logicalId: 'Sg',
          physicalId: 'sg-1',
          type: 'AWS::EC2::SecurityGroup',
          status: 'DELETE_FAILED',
          reason: 'DependencyViolation',
        },
      ],
    });
    register(w, 'test-a');
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-a')).toMatchObject({ outcome: 'DELETE_FAILED', detail: expect.stringContaining('Sg') });
    expect(w.cloud.deletes).toHaveLength(1);
  });

  it('detects an export in use on the first status (stack back to UPDATE_COMPLETE): BLOCKED_BY_EXPORT', async () => {
    const w = newWorld();
    w.cloud.add({
      stackName: 'test-a',
      afterDelete: [
        { status: 'UPDATE_COMPLETE', reason: 'Export test-a-VpcId cannot be deleted as it is in use by test-b' },
      ],
    });
    register(w, 'test-a');
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-a')).toMatchObject({
      outcome: 'BLOCKED_BY_EXPORT',
      detail: expect.stringContaining('in use by test-b'),
    });
    expect(w.transitions.get(0)).toBeLessThanOrEqual(8);
  });

  it('ends TIMED_OUT at the deadline when the stack stays DELETE_IN_PROGRESS', async () => {
    const w = newWorld({ deleteTimeoutMinutes: 30 });
    w.cloud.add({ stackName: 'test-a', afterDelete: [{ status: 'DELETE_IN_PROGRESS' }] });
    register(w, 'test-a');
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-a')?.outcome).toBe('TIMED_OUT');
  });

  it('falls back to polling when status events are lost, and still sees the deletion', async () => {
    const w = newWorld();
    w.eventsLost = true;
    w.cloud.add({ stackName: 'test-a' });
    register(w, 'test-a');
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-a')?.outcome).toBe('DELETED');
  });

  it('dry run: runs the same decisions and deletes nothing', async () => {
    const w = newWorld();
    w.cloud.add({ stackName: 'test-a' });
    w.cloud.add({ stackName: 'test-b', tags: ownerTags(OTHER_EXECUTION) });
    register(w, 'test-a');
    register(w, 'test-b');
    const out = await runTeardown(w, executionInput({ dryRun: true }));
    expect(w.cloud.deletes).toEqual([]);
    expect(outcomeOf(w, 'test-a')).toMatchObject({ outcome: 'DELETED', dryRun: true });
    expect(outcomeOf(w, 'test-b')?.outcome).toBe('SKIPPED_NOT_OWNED');
    expect(out).toMatchObject({ dryRun: true });
    expect(w.slack[0]).toContain('dry run');
  });

  it('a resumed execution (InProgress after the grace period) ends the run with nothing deleted', async () => {
    const w = newWorld();
    w.executionStatus = 'InProgress';
    w.cloud.add({ stackName: 'test-a' });
    register(w, 'test-a');
    const out = await runTeardown(w, executionInput());
    expect(out).toMatchObject({ status: 'CANCELLED' });
    expect(w.cloud.deletes).toEqual([]);
    expect(w.store.outcomes).toEqual([]);
    expect(w.store.runWrites.at(-1)?.status).toBe('CANCELLED');
  });

  it('malformed input fails the execution fast, with nothing looked at or deleted', async () => {
    const w = newWorld();
    w.cloud.add({ stackName: 'test-a' });
    await expect(runTeardown(w, { pipeline: 'app', executionId: 'not-an-id', reason: 'FAILED' })).rejects.toThrow(
      /ValidationError|malformed/,
    );
    expect(w.cloud.calls).toEqual([]);
    expect(w.cloud.deletes).toEqual([]);
  });

  it('one stack failing unexpectedly never aborts the others', async () => {
    const w = newWorld();
    w.cloud.add({ stackName: 'test-a' });
    w.cloud.add({ stackName: 'test-b' });
    register(w, 'test-a');
    register(w, 'test-b');
    const original = w.cloud.describe.bind(w.cloud);
    w.cloud.describe = async (id) => {
      if (id === stackArn('test-b'))
        throw Object.assign(new Error('User is not authorized'), { name: 'PermissionError' });
      return original(id);
    };
    const out = await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-a')?.outcome).toBe('DELETED');
    expect(outcomeOf(w, 'test-b')).toMatchObject({
      outcome: 'DELETE_FAILED',
      detail: expect.stringContaining('PermissionError'),
    });
    expect(out).toMatchObject({ counts: { DELETED: 1, DELETE_FAILED: 1 } });
  });

  it('sweep: tears down the named expired stacks without a grace period', async () => {
    const w = newWorld();
    w.cloud.add({ stackName: 'test-old' });
    const out = await runTeardown(
      w,
      {
        reason: 'EXPIRED',
        sweepId: 'sweep-1',
        stacks: [{ stackId: stackArn('test-old'), stackName: 'test-old', pipeline: PIPELINE, executionId: EXECUTION }],
      },
      'sweep-1',
    );
    expect(outcomeOf(w, 'test-old')?.outcome).toBe('DELETED');
    expect(out).toMatchObject({ reason: 'EXPIRED', counts: { DELETED: 1 } });
  });

  it.each([1, 10, 60])(
    'stays within 12 transitions for a deletion lasting %i simulated minutes (events delivered)',
    async (minutes) => {
      for (const random of [0, 0.5, 1]) {
        const w = newWorld();
        w.random = random;
        w.cloud.durationSeconds = minutes * 60;
        w.cloud.add({ stackName: 'test-a' });
        register(w, 'test-a');
        await runTeardown(w, executionInput());
        expect(outcomeOf(w, 'test-a')?.outcome).toBe('DELETED');
        expect(w.transitions.get(0)).toBeLessThanOrEqual(12);
      }
    },
  );

  it('re-checks ownership on a fresh describe right before DeleteStack (tags changed after Inspect)', async () => {
    const w = newWorld();
    const s = w.cloud.add({ stackName: 'test-a' });
    register(w, 'test-a');
    const original = w.cloud.describe.bind(w.cloud);
    let looks = 0;
    w.cloud.describe = async (id) => {
      looks += 1;
      // A re-run re-tags the stack between the first look (Inspect) and the delete step's look.
      if (looks === 2) s.tags = ownerTags(OTHER_EXECUTION);
      return original(id);
    };
    await runTeardown(w, executionInput());
    expect(w.cloud.deletes).toEqual([]);
    expect(outcomeOf(w, 'test-a')).toMatchObject({
      outcome: 'SKIPPED_NOT_OWNED',
      detail: expect.stringContaining(OTHER_EXECUTION),
    });
  });
});
