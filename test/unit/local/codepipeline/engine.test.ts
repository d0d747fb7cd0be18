import { describe, expect, it } from 'vitest';
import { SnsApprovalMessage } from '#core/approvals/schemas';
import { continuationDelayMs } from '#local/services/codepipeline/providers/lambda';
import {
  approvalAction,
  type Loose,
  lambdaAction,
  makeHarness,
  pipeline,
  sourceStage,
  testProviders,
} from './harness.ts';

const setup = () => makeHarness({ providers: testProviders() });
type Approval = {
  approval: {
    token: string;
    pipelineName: string;
    stageName: string;
    actionName: string;
    expires: string;
    customData?: string;
    approvalReviewLink: string;
  };
};

describe('local CodePipeline engine', () => {
  it('runs stages in order and actions by runOrder, same runOrder in parallel', async () => {
    // Prepare
    const h = setup();
    const stages = [
      sourceStage(),
      {
        name: 'Test',
        actions: [
          lambdaAction('A', 'fn-a', { runOrder: 1 }),
          lambdaAction('B', 'fn-b', { runOrder: 1 }),
          lambdaAction('C', 'fn-c', { runOrder: 2 }),
        ],
      },
    ];
    // Act
    await h.op('CreatePipeline', { pipeline: pipeline('p1', stages) });
    // Assess: A and B started together, C waits for both
    expect(h.invocations.map((i) => i.fn)).toEqual(['fn-a', 'fn-b']);
    const jobOf = (n: number) => h.job(n).id;
    await h.op('PutJobSuccessResult', { jobId: jobOf(0) });
    expect(h.invocations).toHaveLength(2);
    await h.op('PutJobSuccessResult', { jobId: jobOf(1) });
    expect(h.invocations.map((i) => i.fn)).toEqual(['fn-a', 'fn-b', 'fn-c']);
    await h.op('PutJobSuccessResult', { jobId: jobOf(2) });
    const id = await h.latestExecutionId('p1');
    expect((await h.execution('p1', id)).status).toBe('Succeeded');
    expect(h.eventStates('CodePipeline Stage Execution State Change')).toEqual([
      'Source:STARTED',
      'Source:SUCCEEDED',
      'Test:STARTED',
      'Test:SUCCEEDED',
    ]);
    expect(h.eventStates('CodePipeline Pipeline Execution State Change')).toEqual(['STARTED', 'SUCCEEDED']);
  });

  it('sends a real CodePipeline.job event, re-invokes on continuation with a new job id, publishes output variables', async () => {
    // Prepare
    const h = setup();
    const stages = [
      sourceStage(),
      {
        name: 'Check',
        actions: [
          lambdaAction('HttpCheck', 'http-check', {
            namespace: 'Check',
            inputArtifacts: [{ name: 'SourceOutput' }],
            configuration: {
              FunctionName: 'http-check',
              UserParameters: 'exec=#{codepipeline.PipelineExecutionId} commit=#{SourceVariables.CommitId}',
            },
          }),
        ],
      },
      {
        name: 'Use',
        actions: [
          lambdaAction('Use', 'user', { configuration: { FunctionName: 'user', UserParameters: '#{Check.url}' } }),
        ],
      },
    ];
    await h.op('CreatePipeline', { pipeline: pipeline('p2', stages) });
    const id = await h.latestExecutionId('p2');
    // Assess: the job event shape
    const first = h.job(0);
    expect(h.invocations[0]?.type).toBe('Event');
    expect(first.accountId).toBe('123456789012');
    expect(first.data.actionConfiguration.configuration).toEqual({
      FunctionName: 'http-check',
      UserParameters: `exec=${id} commit=abc123`,
    });
    expect(first.data.inputArtifacts[0]).toMatchObject({
      name: 'SourceOutput',
      revision: 'abc123',
      location: { type: 'S3', s3Location: { bucketName: 'artifact-bucket' } },
    });
    expect(Object.keys(first.data.artifactCredentials).sort()).toEqual([
      'accessKeyId',
      'expirationTime',
      'secretAccessKey',
      'sessionToken',
    ]);
    expect(first.data.continuationToken).toBeUndefined();
    // Act: continue
    await h.op('PutJobSuccessResult', { jobId: first.id, continuationToken: 'poll-2' });
    const second = h.job(1);
    expect(second.id).not.toBe(first.id);
    expect(second.data.continuationToken).toBe('poll-2');
    // the old job no longer accepts results
    await expect(h.op('PutJobSuccessResult', { jobId: first.id })).rejects.toMatchObject({
      code: 'InvalidJobStateException',
    });
    await expect(
      h.op('PutJobSuccessResult', { jobId: second.id, continuationToken: 'x', outputVariables: { a: 'b' } }),
    ).rejects.toMatchObject({ code: 'ValidationException' });
    await h.op('PutJobSuccessResult', {
      jobId: second.id,
      outputVariables: { url: 'http://test' },
      executionDetails: { summary: 'ok' },
    });
    // Assess: the next action resolved the namespace variable
    const third = h.job(2);
    expect(third.data.actionConfiguration.configuration.UserParameters).toBe('http://test');
    const actions = await h.op<{ actionExecutionDetails: Array<Record<string, Loose>> }>('ListActionExecutions', {
      pipelineName: 'p2',
      filter: { pipelineExecutionId: id },
    });
    const check = actions.actionExecutionDetails.find((a) => a.actionName === 'HttpCheck');
    expect(check?.output.outputVariables).toEqual({ url: 'http://test' });
    expect(check?.output.executionResult.externalExecutionSummary).toBe('ok');
    expect(check?.input.namespace).toBe('Check');
  });

  it('fails the action with the job failure details and fails the execution', async () => {
    const h = setup();
    await h.op('CreatePipeline', {
      pipeline: pipeline('p3', [sourceStage(), { name: 'T', actions: [lambdaAction('L', 'fn')] }]),
    });
    const job = h.job(0).id;
    await expect(
      h.op('PutJobFailureResult', { jobId: job, failureDetails: { type: 'Nope', message: 'x' } }),
    ).rejects.toMatchObject({ code: 'ValidationException' });
    await h.op('PutJobFailureResult', {
      jobId: job,
      failureDetails: { type: 'JobFailed', message: 'HTTP 500 from /health' },
    });
    const id = await h.latestExecutionId('p3');
    expect(await h.execution('p3', id)).toMatchObject({ status: 'Failed', statusSummary: 'HTTP 500 from /health' });
    const state = await h.state('p3');
    expect(state.stageStates[1]?.actionStates[0]?.latestExecution).toMatchObject({
      status: 'Failed',
      errorDetails: { code: 'JobFailed', message: 'HTTP 500 from /health' },
    });
    const failed = h.events.find(
      (e) => e.DetailType === 'CodePipeline Action Execution State Change' && e.detail.state === 'FAILED',
    );
    expect(failed?.detail).toMatchObject({
      pipeline: 'p3',
      stage: 'T',
      action: 'L',
      type: { category: 'Invoke', provider: 'Lambda' },
      'execution-result': { 'error-code': 'JobFailed' },
    });
    await expect(h.op('PutJobSuccessResult', { jobId: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({
      code: 'JobNotFoundException',
    });
  });

  it('publishes the approval notification JSON, waits, and accepts PutApprovalResult once', async () => {
    const h = setup();
    const stages = [
      sourceStage(),
      {
        name: 'Approve',
        actions: [
          approvalAction(
            'Gate',
            {
              NotificationArn: 'arn:aws:sns:us-east-1:123456789012:approvals',
              CustomData: 'commit #{SourceVariables.CommitId}',
              ExternalEntityLink: 'http://example.com',
            },
            { timeoutInMinutes: 60 },
          ),
        ],
      },
      { name: 'After', actions: [lambdaAction('L', 'fn')] },
    ];
    await h.op('CreatePipeline', { pipeline: pipeline('p4', stages) });
    const publish = h.calls.find((c) => c.service === 'sns' && c.operation === 'Publish');
    expect(publish?.input.TopicArn).toBe('arn:aws:sns:us-east-1:123456789012:approvals');
    const msg = JSON.parse(publish?.input.Message as string) as Approval & { region: string; consoleLink: string };
    expect(msg.region).toBe('us-east-1');
    expect(msg.approval).toMatchObject({
      pipelineName: 'p4',
      stageName: 'Approve',
      actionName: 'Gate',
      customData: 'commit abc123',
      externalEntityLink: 'http://example.com',
    });
    expect(msg.approval.expires).toBe('2026-01-01T01:00Z');
    expect(msg.approval.approvalReviewLink).toContain(`/Approve/Gate/approve/${msg.approval.token}`);
    const state = await h.state('p4');
    expect(state.stageStates[1]?.actionStates[0]?.latestExecution).toMatchObject({
      status: 'InProgress',
      token: msg.approval.token,
    });
    const base = { pipelineName: 'p4', stageName: 'Approve', actionName: 'Gate' };
    await expect(
      h.op('PutApprovalResult', {
        ...base,
        token: '00000000-0000-4000-8000-000000000000',
        result: { status: 'Approved', summary: '' },
      }),
    ).rejects.toMatchObject({ code: 'InvalidApprovalTokenException' });
    await expect(
      h.op('PutApprovalResult', { ...base, token: msg.approval.token, result: { status: 'approved', summary: '' } }),
    ).rejects.toMatchObject({ code: 'ValidationException' });
    await expect(
      h.op('PutApprovalResult', {
        ...base,
        actionName: 'Nope',
        token: msg.approval.token,
        result: { status: 'Approved', summary: '' },
      }),
    ).rejects.toMatchObject({ code: 'ActionNotFoundException' });
    await expect(
      h.op('PutApprovalResult', {
        ...base,
        stageName: 'Nope',
        token: msg.approval.token,
        result: { status: 'Approved', summary: '' },
      }),
    ).rejects.toMatchObject({ code: 'StageNotFoundException' });
    const out = await h.op<{ approvedAt: number }>('PutApprovalResult', {
      ...base,
      token: msg.approval.token,
      result: { status: 'Approved', summary: 'ship it' },
    });
    expect(out.approvedAt).toBe(Date.parse('2026-01-01T00:00:00Z') / 1000);
    await expect(
      h.op('PutApprovalResult', { ...base, token: msg.approval.token, result: { status: 'Approved', summary: '' } }),
    ).rejects.toMatchObject({ code: 'ApprovalAlreadyCompletedException' });
    expect(h.invocations.map((i) => i.fn)).toEqual(['fn']);
  });

  it('publishes null externalEntityLink and customData for an approval without them, as CodePipeline does', async () => {
    const h = setup();
    const stages = [
      sourceStage(),
      {
        name: 'Approve',
        actions: [approvalAction('Gate', { NotificationArn: 'arn:aws:sns:us-east-1:123456789012:approvals' })],
      },
    ];
    await h.op('CreatePipeline', { pipeline: pipeline('p5', stages) });
    const publish = h.calls.find((c) => c.service === 'sns' && c.operation === 'Publish');
    const raw = publish?.input.Message as string;
    expect(raw).toContain('"externalEntityLink":null');
    expect(raw).toContain('"customData":null');
    // The production parser takes it.
    expect(SnsApprovalMessage.parse(JSON.parse(raw)).approval).toMatchObject({
      externalEntityLink: null,
      customData: null,
    });
  });

  it('fails an approval that times out', async () => {
    const h = setup();
    await h.op('CreatePipeline', {
      pipeline: pipeline('p5', [
        sourceStage(),
        { name: 'A', actions: [approvalAction('Gate', {}, { timeoutInMinutes: 5 })] },
      ]),
    });
    h.advanceClock(4 * 60_000);
    await h.cp.tick();
    const id = await h.latestExecutionId('p5');
    expect((await h.execution('p5', id)).status).toBe('InProgress');
    h.advanceClock(2 * 60_000);
    await h.cp.tick();
    await h.cp.engine.idle();
    expect((await h.execution('p5', id)).status).toBe('Failed');
  });

  it('holds executions at a disabled transition and releases them when enabled', async () => {
    const h = setup();
    await h.op('CreatePipeline', {
      pipeline: pipeline('p6', [sourceStage(), { name: 'B', actions: [lambdaAction('L', 'fn')] }]),
    });
    await h.op('DisableStageTransition', {
      pipelineName: 'p6',
      stageName: 'B',
      transitionType: 'Inbound',
      reason: 'freeze',
    });
    // the creation run already passed; start another
    const job = h.job(0).id;
    await h.op('PutJobSuccessResult', { jobId: job });
    const { pipelineExecutionId } = await h.op<{ pipelineExecutionId: string }>('StartPipelineExecution', {
      name: 'p6',
    });
    expect(h.invocations).toHaveLength(1);
    const state = await h.op<{ stageStates: Array<Record<string, Loose>> }>('GetPipelineState', { name: 'p6' });
    expect(state.stageStates[1]?.inboundTransitionState).toMatchObject({ enabled: false, disabledReason: 'freeze' });
    expect(state.stageStates[1]?.inboundExecution).toEqual({ pipelineExecutionId, status: 'InProgress' });
    await h.op('EnableStageTransition', { pipelineName: 'p6', stageName: 'Source', transitionType: 'Outbound' });
    expect(h.invocations).toHaveLength(2);
    await expect(
      h.op('DisableStageTransition', {
        pipelineName: 'p6',
        stageName: 'Source',
        transitionType: 'Inbound',
        reason: 'x',
      }),
    ).rejects.toMatchObject({ code: 'ValidationException' });
  });

  it('SUPERSEDED: a newer execution waiting for a stage supersedes an older waiting one', async () => {
    const h = setup();
    await h.op('CreatePipeline', {
      pipeline: pipeline('p7', [sourceStage(), { name: 'B', actions: [approvalAction('Gate')] }]),
    });
    const first = await h.latestExecutionId('p7');
    const { pipelineExecutionId: second } = await h.op<{ pipelineExecutionId: string }>('StartPipelineExecution', {
      name: 'p7',
    });
    const { pipelineExecutionId: third } = await h.op<{ pipelineExecutionId: string }>('StartPipelineExecution', {
      name: 'p7',
    });
    expect((await h.execution('p7', first)).status).toBe('InProgress');
    expect((await h.execution('p7', second)).status).toBe('Superseded');
    expect((await h.execution('p7', third)).status).toBe('InProgress');
    expect(h.eventStates('CodePipeline Pipeline Execution State Change')).toContain('SUPERSEDED');
  });

  it('QUEUED: waiting executions enter in order; PARALLEL: they never wait', async () => {
    const q = setup();
    await q.op('CreatePipeline', {
      pipeline: pipeline('q', [sourceStage(), { name: 'B', actions: [lambdaAction('L', 'fn')] }], {
        executionMode: 'QUEUED',
      }),
    });
    await q.op('StartPipelineExecution', { name: 'q' });
    await q.op('StartPipelineExecution', { name: 'q' });
    const summaries = (
      await q.op<{ pipelineExecutionSummaries: Array<{ status: string }> }>('ListPipelineExecutions', {
        pipelineName: 'q',
      })
    ).pipelineExecutionSummaries;
    expect(summaries.map((s) => s.status)).toEqual(['InProgress', 'InProgress', 'InProgress']);
    expect(q.invocations).toHaveLength(1);
    for (let n = 0; n < 3; n++) {
      const job = q.job(n).id;
      await q.op('PutJobSuccessResult', { jobId: job });
    }
    const done = (
      await q.op<{ pipelineExecutionSummaries: Array<{ status: string }> }>('ListPipelineExecutions', {
        pipelineName: 'q',
      })
    ).pipelineExecutionSummaries;
    expect(done.map((s) => s.status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);

    const p = setup();
    await p.op('CreatePipeline', {
      pipeline: pipeline('par', [sourceStage(), { name: 'B', actions: [approvalAction('Gate')] }], {
        executionMode: 'PARALLEL',
      }),
    });
    await p.op('StartPipelineExecution', { name: 'par' });
    const actions = await p.op<{ actionExecutionDetails: Array<Record<string, Loose>> }>('ListActionExecutions', {
      pipelineName: 'par',
    });
    const gates = actions.actionExecutionDetails.filter((a) => a.actionName === 'Gate');
    expect(gates).toHaveLength(2);
    // PARALLEL: the approval is addressed by externalExecutionId
    const token = gates[0]?.output.executionResult.externalExecutionId;
    await p.op('PutApprovalResult', {
      pipelineName: 'par',
      stageName: 'B',
      actionName: 'Gate',
      token,
      result: { status: 'Rejected', summary: 'no' },
    });
    const after = (
      await p.op<{ pipelineExecutionSummaries: Array<{ status: string }> }>('ListPipelineExecutions', {
        pipelineName: 'par',
      })
    ).pipelineExecutionSummaries;
    expect(after.map((s) => s.status).sort()).toEqual(['Failed', 'InProgress']);
  });

  it('stop waits for in-progress actions, abandon does not; then retry resumes the stage', async () => {
    const h = setup();
    await h.op('CreatePipeline', {
      pipeline: pipeline('p8', [sourceStage(), { name: 'B', actions: [lambdaAction('L', 'fn')] }]),
    });
    const id = await h.latestExecutionId('p8');
    await h.op('StopPipelineExecution', { pipelineName: 'p8', pipelineExecutionId: id, reason: 'update' });
    expect((await h.execution('p8', id)).status).toBe('Stopping');
    await expect(h.op('StopPipelineExecution', { pipelineName: 'p8', pipelineExecutionId: id })).rejects.toMatchObject({
      code: 'DuplicatedStopRequestException',
    });
    await h.op('StopPipelineExecution', { pipelineName: 'p8', pipelineExecutionId: id, abandon: true });
    expect((await h.execution('p8', id)).status).toBe('Stopped');
    expect(h.eventStates('CodePipeline Action Execution State Change')).toContain('B:L:ABANDONED');
    const stopping = h.events.find((e) => e.detail.state === 'STOPPING' && e.DetailType.includes('Pipeline Execution'));
    expect(stopping?.detail['stop-execution-comments']).toBe('update');
    await expect(h.op('StopPipelineExecution', { pipelineName: 'p8', pipelineExecutionId: id })).rejects.toMatchObject({
      code: 'PipelineExecutionNotStoppableException',
    });
    await h.op('RetryStageExecution', {
      pipelineName: 'p8',
      stageName: 'B',
      pipelineExecutionId: id,
      retryMode: 'FAILED_ACTIONS',
    });
    expect(h.invocations).toHaveLength(2);
    const job = h.job(1).id;
    await h.op('PutJobSuccessResult', { jobId: job });
    expect((await h.execution('p8', id)).status).toBe('Succeeded');
    // The abandoned attempt is still listed beside the retried one (two action execution ids).
    const listed = (
      await h.op<{ actionExecutionDetails: Array<Record<string, Loose>> }>('ListActionExecutions', {
        pipelineName: 'p8',
        filter: { pipelineExecutionId: id },
      })
    ).actionExecutionDetails.filter((a) => a.stageName === 'B');
    expect(listed.map((a) => a.status)).toEqual(['Succeeded', 'Abandoned']);
    expect(new Set(listed.map((a) => a.actionExecutionId)).size).toBe(2);
    await expect(
      h.op('RetryStageExecution', {
        pipelineName: 'p8',
        stageName: 'B',
        pipelineExecutionId: id,
        retryMode: 'FAILED_ACTIONS',
      }),
    ).rejects.toMatchObject({ code: 'StageNotRetryableException' });
  });

  it('resumes after a restart from the store: waiting actions keep waiting, results still land', async () => {
    const h = setup();
    await h.op('CreatePipeline', {
      pipeline: pipeline('p9', [sourceStage(), { name: 'B', actions: [lambdaAction('L', 'fn')] }]),
    });
    const job = h.job(0).id;
    // a new instance over the same store, as after a restart
    const { createCodePipeline } = await import('#local/services/codepipeline/index');
    const restarted = createCodePipeline({ providers: testProviders(), tickMs: 0, sleep: async () => {} });
    await restarted.service.start?.(h.ctx);
    await restarted.service.operations.PutJobSuccessResult?.({ jobId: job }, h.ctx);
    await restarted.engine.idle();
    const id = await h.latestExecutionId('p9');
    expect((await h.execution('p9', id)).status).toBe('Succeeded');
    expect(h.invocations).toHaveLength(1);
  });

  it('fails an action whose variable reference cannot be resolved, and an Invoke whose function is missing', async () => {
    const h = setup();
    await h.op('CreatePipeline', {
      pipeline: pipeline('v', [
        sourceStage(),
        { name: 'B', actions: [lambdaAction('L', 'fn', { configuration: { FunctionName: '#{Nope.x}' } })] },
      ]),
    });
    const id = await h.latestExecutionId('v');
    expect(await h.execution('v', id)).toMatchObject({
      status: 'Failed',
      statusSummary: 'Unable to resolve the variable reference #{Nope.x}',
    });
    const m = setup();
    m.failInvokes('Function not found: fn');
    await m.op('CreatePipeline', {
      pipeline: pipeline('m', [sourceStage(), { name: 'B', actions: [lambdaAction('L', 'fn')] }]),
    });
    expect((await m.execution('m', await m.latestExecutionId('m'))).statusSummary).toContain('Function not found: fn');
  });

  it('pipeline variables: defaults, overrides, undeclared names rejected', async () => {
    const h = setup();
    const decl = pipeline(
      'pv',
      [
        sourceStage(),
        {
          name: 'B',
          actions: [
            lambdaAction('L', 'fn', { configuration: { FunctionName: 'fn', UserParameters: '#{variables.env}' } }),
          ],
        },
      ],
      {
        variables: [{ name: 'env', defaultValue: 'test' }],
      },
    );
    await h.op('CreatePipeline', { pipeline: decl });
    await expect(
      h.op('StartPipelineExecution', { name: 'pv', variables: [{ name: 'other', value: 'x' }] }),
    ).rejects.toMatchObject({ code: 'ValidationException' });
    const { pipelineExecutionId } = await h.op<{ pipelineExecutionId: string }>('StartPipelineExecution', {
      name: 'pv',
      variables: [{ name: 'env', value: 'prod' }],
      clientRequestToken: 'tok-1',
    });
    const again = await h.op<{ pipelineExecutionId: string }>('StartPipelineExecution', {
      name: 'pv',
      clientRequestToken: 'tok-1',
    });
    expect(again.pipelineExecutionId).toBe(pipelineExecutionId);
    expect((await h.execution('pv', pipelineExecutionId)).variables).toEqual([{ name: 'env', resolvedValue: 'prod' }]);
    const params = h.invocations.map((i) => h.jobOf(i.payload).data.actionConfiguration.configuration.UserParameters);
    expect(params).toEqual(['test']); // the second execution waits for stage B (SUPERSEDED lock)
  });
});

describe('Invoke action timeouts', () => {
  it('fails a Lambda action that sends no reply within 20 minutes; a continuation restarts the timer', async () => {
    const h = makeHarness({ providers: testProviders() });
    await h.op('CreatePipeline', {
      pipeline: pipeline('t', [sourceStage(), { name: 'B', actions: [lambdaAction('L', 'fn')] }]),
    });
    h.advanceClock(19 * 60_000);
    await h.op('PutJobSuccessResult', { jobId: h.job(0).id, continuationToken: 'c' });
    h.advanceClock(19 * 60_000);
    await h.cp.tick();
    const id = await h.latestExecutionId('t');
    expect((await h.execution('t', id)).status).toBe('InProgress');
    h.advanceClock(2 * 60_000);
    await h.cp.tick();
    await h.cp.engine.idle();
    expect(await h.execution('t', id)).toMatchObject({
      status: 'Failed',
      statusSummary: 'The job did not return a result in time',
    });
    await expect(h.op('PutJobSuccessResult', { jobId: h.job(1).id })).rejects.toMatchObject({
      code: 'InvalidJobStateException',
    });
  });
});

describe('Invoke continuations', () => {
  it('re-invokes after the continuation delay (queued, not at once) so a task that hands back cannot spin', async () => {
    const h = makeHarness({ providers: testProviders() });
    await h.op('CreatePipeline', {
      pipeline: pipeline('c', [sourceStage(), { name: 'B', actions: [lambdaAction('L', 'fn')] }]),
    });
    await h.op('PutJobSuccessResult', { jobId: h.job(0).id, continuationToken: 'c1' });
    expect(h.invocations.map((i) => i.delayMs)).toEqual([undefined, 1_000]);
    expect(continuationDelayMs({ STAGECREW_CONTINUATION_DELAY_MS: '0' })).toBe(0);
    expect(continuationDelayMs({ STAGECREW_CONTINUATION_DELAY_MS: '250' })).toBe(250);
    for (const bad of ['-1', 'soon', '3600001']) {
      expect(() => continuationDelayMs({ STAGECREW_CONTINUATION_DELAY_MS: bad })).toThrow(/0 to 3600000/);
    }
  });
});
