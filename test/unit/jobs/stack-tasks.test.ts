import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../functions/core/errors.ts';
import { decideJob } from '../../../functions/core/jobs/runner.ts';
import { makeJob, T0, world } from './fakes.ts';

const EXEC = '3a1c2b4d-1111-2222-3333-444455556666';
const token = (r: Awaited<ReturnType<typeof decideJob>>['report']) =>
  r.kind === 'continuation' ? r.continuationToken : '';

describe('wait-stack', () => {
  it('polls until the stack reaches a target status', async () => {
    const w = world();
    w.stacks.put({ stackName: 'test-app', status: 'CREATE_IN_PROGRESS' });
    w.stacks.script.set('test-app', ['CREATE_IN_PROGRESS', 'CREATE_IN_PROGRESS', 'CREATE_COMPLETE']);
    const { report } = await decideJob(
      makeJob({ task: 'wait-stack', stackName: 'test-app', pollSeconds: 20 }),
      w.deps,
      1e5,
    );
    expect(report).toMatchObject({
      kind: 'success',
      summary: 'stack test-app is CREATE_COMPLETE',
      outputVariables: { StackName: 'test-app', StackStatus: 'CREATE_COMPLETE' },
    });
    expect(w.clock.sleeps).toEqual([20_000, 20_000]);
    // After the first look the stack is followed by id.
    expect(w.stacks.describes.slice(1).every((d) => d.startsWith('arn:aws:cloudformation'))).toBe(true);
  });

  it('continues with the stack id in the state when the invocation budget runs out', async () => {
    const w = world({ maxInvocationMs: 30_000 });
    const stack = w.stacks.put({ stackName: 'test-app', status: 'UPDATE_IN_PROGRESS' });
    const params = { task: 'wait-stack', stackName: 'test-app', pollSeconds: 15 };
    const first = (await decideJob(makeJob(params), w.deps, 1e5)).report;
    expect(first).toMatchObject({
      kind: 'continuation',
      summary: expect.stringMatching(/is UPDATE_IN_PROGRESS; waiting for/),
    });
    expect(JSON.parse(token(first)).s).toEqual({ stackId: stack.stackId, last: 'UPDATE_IN_PROGRESS' });
    w.stacks.script.set('test-app', ['UPDATE_COMPLETE']);
    const second = (await decideJob(makeJob(params, { continuationToken: token(first) }), w.deps, 1e5)).report;
    expect(second).toMatchObject({ kind: 'success', outputVariables: { StackStatus: 'UPDATE_COMPLETE' } });
  });

  it('fails at once when the stack settles in another status', async () => {
    const w = world();
    w.stacks.put({ stackName: 'test-app', status: 'ROLLBACK_COMPLETE', statusReason: 'Resource creation cancelled' });
    const { report } = await decideJob(makeJob({ task: 'wait-stack', stackName: 'test-app' }), w.deps, 1e5);
    expect(report).toMatchObject({
      kind: 'failure',
      type: 'JobFailed',
      message:
        'stack test-app settled in ROLLBACK_COMPLETE, not CREATE_COMPLETE or UPDATE_COMPLETE or IMPORT_COMPLETE: Resource creation cancelled',
    });
  });

  it('treats a missing stack as done when waiting for DELETE_COMPLETE, as a failure otherwise', async () => {
    const w = world();
    const gone = await decideJob(
      makeJob({ task: 'wait-stack', stackName: 'old', targetStatus: 'DELETE_COMPLETE' }),
      w.deps,
      1e5,
    );
    expect(gone.report).toMatchObject({ kind: 'success', outputVariables: { StackStatus: 'DELETE_COMPLETE' } });
    const missing = await decideJob(makeJob({ task: 'wait-stack', stackName: 'old' }), w.deps, 1e5);
    expect(missing.report).toMatchObject({ kind: 'failure', type: 'JobFailed', message: 'stack old does not exist' });
  });

  it('waits for a stack to appear when asked to', async () => {
    const w = world({ maxInvocationMs: 20_000 });
    const { report } = await decideJob(
      makeJob({ task: 'wait-stack', stackName: 'later', waitForCreation: true, pollSeconds: 5 }),
      w.deps,
      1e5,
    );
    expect(report).toMatchObject({ kind: 'continuation', summary: 'waiting for stack later to be created' });
  });

  it('names a bad stack name', async () => {
    const w = world();
    const { report } = await decideJob(makeJob({ task: 'wait-stack', stackName: '1-bad name' }), w.deps, 1e5);
    expect(report).toMatchObject({ kind: 'failure', type: 'ConfigurationError' });
    expect(report.kind === 'failure' && report.message).toMatch(/^stackName: must be a stack name/);
  });
});

describe('stack-outputs', () => {
  it('exports the selected outputs with a prefix', async () => {
    const w = world();
    w.stacks.put({
      stackName: 'test-app',
      outputs: { ApiUrl: 'https://x.execute-api/prod', TableName: 't', Secret: 's' },
    });
    const { report } = await decideJob(
      makeJob({ task: 'stack-outputs', stackName: 'test-app', outputs: ['ApiUrl', 'TableName'], prefix: 'Test' }),
      w.deps,
      1e5,
    );
    expect(report).toMatchObject({
      kind: 'success',
      summary: 'read 2 output(s) of test-app: ApiUrl, TableName',
      outputVariables: { TestApiUrl: 'https://x.execute-api/prod', TestTableName: 't' },
    });
    expect(report.kind === 'success' && Object.keys(report.outputVariables ?? {})).toHaveLength(2);
  });

  it('exports every output when none are listed', async () => {
    const w = world();
    w.stacks.put({ stackName: 'test-app', status: 'UPDATE_COMPLETE', outputs: { B: '2', A: '1' } });
    const { report } = await decideJob(makeJob({ task: 'stack-outputs', stackName: 'test-app' }), w.deps, 1e5);
    expect(report.kind === 'success' && report.outputVariables).toEqual({ A: '1', B: '2' });
  });

  it('fails naming a missing output and the outputs the stack has', async () => {
    const w = world();
    w.stacks.put({ stackName: 'test-app', outputs: { ApiUrl: 'u' } });
    const { report } = await decideJob(
      makeJob({ task: 'stack-outputs', stackName: 'test-app', outputs: ['WebUrl'] }),
      w.deps,
      1e5,
    );
    expect(report).toMatchObject({
      kind: 'failure',
      type: 'JobFailed',
      message: 'stack test-app has no output WebUrl (outputs: ApiUrl)',
    });
  });

  it('waits while the stack is changing, and refuses a rolled-back create', async () => {
    const w = world();
    w.stacks.put({ stackName: 'busy', status: 'UPDATE_IN_PROGRESS', outputs: { A: '1' } });
    w.stacks.script.set('busy', ['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE']);
    const busy = await decideJob(makeJob({ task: 'stack-outputs', stackName: 'busy', pollSeconds: 5 }), w.deps, 1e5);
    expect(busy.report).toMatchObject({ kind: 'success', outputVariables: { A: '1' } });
    w.stacks.put({ stackName: 'broken', status: 'ROLLBACK_COMPLETE' });
    const broken = await decideJob(makeJob({ task: 'stack-outputs', stackName: 'broken' }), w.deps, 1e5);
    expect(broken.report).toMatchObject({
      kind: 'failure',
      message: 'stack broken is ROLLBACK_COMPLETE; its outputs are not usable',
    });
  });
});

describe('register-test-stack', () => {
  const params = {
    task: 'register-test-stack',
    stackName: 'test-app',
    pipeline: 'awscicd-pipeline',
    executionId: EXEC,
  };

  it('tags the stack, waits for the update, registers it for teardown and exports its identity', async () => {
    const w = world();
    const stack = w.stacks.put({ stackName: 'test-app', tags: { team: 'web' }, parameterKeys: ['Env'] });
    const { report } = await decideJob(makeJob({ ...params, expiresInHours: 8 }), w.deps, 1e5);
    const expiresAt = new Date(T0 + 8 * 3_600_000).toISOString();
    expect(w.stacks.updates).toEqual([
      {
        stackId: stack.stackId,
        tags: {
          'stagecrew:managed': 'true',
          'stagecrew:pipeline': 'awscicd-pipeline',
          'stagecrew:execution-id': EXEC,
          'stagecrew:expires-at': expiresAt,
        },
      },
    ]);
    expect(w.teardown.registrations).toEqual([
      {
        pipeline: 'awscicd-pipeline',
        executionId: EXEC,
        stackName: 'test-app',
        stackId: stack.stackId,
        expiresAt,
        registeredAt: new Date(T0).toISOString(),
        jobId: expect.any(String),
      },
    ]);
    expect(report).toMatchObject({
      kind: 'success',
      outputVariables: {
        StackId: stack.stackId,
        StackName: 'test-app',
        Pipeline: 'awscicd-pipeline',
        ExecutionId: EXEC,
        ExpiresAt: expiresAt,
      },
    });
  });

  it('succeeds without an update when CloudFormation reports no changes', async () => {
    const w = world();
    w.stacks.put({ stackName: 'test-app' });
    w.stacks.onUpdate = 'unchanged';
    const { report } = await decideJob(makeJob(params), w.deps, 1e5);
    expect(report).toMatchObject({
      kind: 'success',
      summary: 'stack test-app already carried the tags; registered for teardown',
    });
    expect(w.teardown.registrations).toHaveLength(1);
  });

  it('skips the update when the tags are already there', async () => {
    const w = world();
    w.stacks.put({
      stackName: 'test-app',
      tags: { 'stagecrew:managed': 'true', 'stagecrew:pipeline': 'awscicd-pipeline', 'stagecrew:execution-id': EXEC },
    });
    const { report } = await decideJob(makeJob(params), w.deps, 1e5);
    expect(report.kind).toBe('success');
    expect(w.stacks.updates).toEqual([]);
    expect(w.teardown.registrations).toHaveLength(1);
  });

  it('takes pipeline and execution id from the event pipelineContext when present', async () => {
    const w = world();
    w.stacks.put({ stackName: 'test-app' });
    w.stacks.onUpdate = 'unchanged';
    const job = makeJob(
      { task: 'register-test-stack', stackName: 'test-app' },
      { pipelineName: 'from-event', pipelineExecutionId: EXEC },
    );
    const { report } = await decideJob(job, w.deps, 1e5);
    expect(report).toMatchObject({ kind: 'success', outputVariables: { Pipeline: 'from-event', ExecutionId: EXEC } });
  });

  it('asks for the execution id when neither the event nor the parameters carry it', async () => {
    const w = world();
    const { report } = await decideJob(
      makeJob({ task: 'register-test-stack', stackName: 'test-app', pipeline: 'p' }),
      w.deps,
      1e5,
    );
    expect(report).toMatchObject({
      kind: 'failure',
      type: 'ConfigurationError',
      message: 'executionId: required: set it to "#{codepipeline.PipelineExecutionId}"',
    });
    const noPipeline = await decideJob(
      makeJob({ task: 'register-test-stack', stackName: 'test-app', executionId: EXEC }),
      w.deps,
      1e5,
    );
    expect(noPipeline.report.kind === 'failure' && noPipeline.report.message).toMatch(/^pipeline: required/);
  });

  it('rejects an unresolved variable as the execution id', async () => {
    const w = world();
    const { report } = await decideJob(
      makeJob({ ...params, executionId: '#{codepipeline.PipelineExecutionID}' }),
      w.deps,
      1e5,
    );
    expect(report).toMatchObject({ kind: 'failure', type: 'ConfigurationError' });
    expect(report.kind === 'failure' && report.message).toMatch(/^executionId: .* is not a pipeline execution id/);
  });

  it('waits for a busy stack before tagging, and keeps the expiry across continuations', async () => {
    const w = world({ maxInvocationMs: 15_000 });
    w.stacks.put({ stackName: 'test-app', status: 'CREATE_IN_PROGRESS' });
    const first = (await decideJob(makeJob({ ...params, expiresInHours: 2 }), w.deps, 1e5)).report;
    expect(first).toMatchObject({
      kind: 'continuation',
      summary: 'stack test-app is CREATE_IN_PROGRESS; waiting to tag it',
    });
    expect(w.stacks.updates).toEqual([]);
    w.clock.advance(60_000);
    w.stacks.script.set('test-app', ['CREATE_COMPLETE']);
    w.deps.maxInvocationMs = 60_000; // room to tag and wait for the update in this invocation
    const second = (
      await decideJob(makeJob({ ...params, expiresInHours: 2 }, { continuationToken: token(first) }), w.deps, 1e5)
    ).report;
    expect(second.kind === 'success' && second.outputVariables?.ExpiresAt).toBe(
      new Date(T0 + 2 * 3_600_000).toISOString(),
    );
  });

  it('waits when another update wins the race to the stack', async () => {
    const w = world({ maxInvocationMs: 5_000 });
    w.stacks.put({ stackName: 'test-app' });
    w.stacks.onUpdate = new ConflictError('is in UPDATE_IN_PROGRESS state and can not be updated');
    const { report } = await decideJob(makeJob(params), w.deps, 1e5);
    expect(report).toMatchObject({ kind: 'continuation', summary: 'stack test-app is busy; waiting to tag it' });
  });

  it('fails when the tagging update rolls back', async () => {
    const w = world();
    w.stacks.put({ stackName: 'test-app' });
    w.stacks.onUpdate = 'updating';
    const original = w.stacks.updateTags.bind(w.stacks);
    w.stacks.updateTags = async (s, t) => {
      const r = await original(s, t);
      const live = w.stacks.stacks.get('test-app');
      if (live) live.tags = {}; // the update rolled back: tags gone
      w.stacks.script.set('test-app', ['UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE']);
      return r;
    };
    const { report } = await decideJob(makeJob(params), w.deps, 1e5);
    expect(report).toMatchObject({
      kind: 'failure',
      type: 'JobFailed',
      message: 'tagging stack test-app ended in UPDATE_ROLLBACK_COMPLETE without the tags',
    });
  });

  it('refuses a stack CloudFormation cannot update', async () => {
    const w = world();
    w.stacks.put({ stackName: 'test-app', status: 'ROLLBACK_COMPLETE' });
    const { report } = await decideJob(makeJob(params), w.deps, 1e5);
    expect(report).toMatchObject({ kind: 'failure', type: 'JobFailed' });
    expect(w.teardown.registrations).toEqual([]);
  });
});
