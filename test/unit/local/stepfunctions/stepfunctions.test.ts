import { describe, expect, it, vi } from 'vitest';
import { createStepFunctionsService } from '#local/services/stepfunctions/index';
import { AwsError, type LocalContext } from '#local/services/types';
import { MemoryStore } from '#local/store/store';
import { makeContext, type TestContext } from '../s3/context.ts';

const ROLE = 'arn:aws:iam::123456789012:role/sfn';
const FN = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;

type Sfn = ReturnType<typeof createStepFunctionsService>;
const setup = (
  fakes: { invoke?: LocalContext['invoke']; call?: LocalContext['call']; store?: MemoryStore; waitScale?: number } = {},
) => {
  const sfn = createStepFunctionsService({ waitScale: fakes.waitScale ?? 0 });
  const ctx = makeContext({
    ...(fakes.store ? { store: fakes.store } : {}),
    ...(fakes.invoke ? { invoke: fakes.invoke } : {}),
    ...(fakes.call ? { call: fakes.call } : {}),
  });
  const op = async (name: string, input: Record<string, unknown>) =>
    (await sfn.operations[name]?.(input, ctx)) as Record<string, unknown>;
  return { sfn, ctx, op };
};

const createMachine = async (
  op: (n: string, i: Record<string, unknown>) => Promise<Record<string, unknown>>,
  name: string,
  definition: unknown,
) =>
  (await op('CreateStateMachine', { name, roleArn: ROLE, definition: JSON.stringify(definition) }))
    .stateMachineArn as string;

const run = async (
  sfn: Sfn,
  op: (n: string, i: Record<string, unknown>) => Promise<Record<string, unknown>>,
  machine: string,
  input: unknown,
  name?: string,
) => {
  const { executionArn } = await op('StartExecution', {
    stateMachineArn: machine,
    input: JSON.stringify(input),
    ...(name ? { name } : {}),
  });
  await sfn.engine.settled(executionArn as string);
  return { ...(await op('DescribeExecution', { executionArn })), executionArn: executionArn as string } as Record<
    string,
    unknown
  > & {
    executionArn: string;
  };
};

const lambdaFlow = {
  StartAt: 'Describe',
  States: {
    Describe: { Type: 'Task', Resource: FN('describe'), ResultPath: '$.stack', Next: 'Owned?' },
    'Owned?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.stack.owned', BooleanEquals: true, Next: 'Delete' }],
      Default: 'Skip',
    },
    Delete: { Type: 'Task', Resource: FN('delete'), ResultPath: '$.deleted', Next: 'Wait' },
    Wait: { Type: 'Wait', Seconds: 3600, Next: 'Done' },
    Skip: { Type: 'Pass', Result: 'skipped', ResultPath: '$.outcome', End: true },
    Done: { Type: 'Succeed' },
  },
};

describe('local Step Functions', () => {
  it('runs ASL with Lambda tasks and records an AWS-shaped history with transition counts', async () => {
    const calls: Array<[string, unknown]> = [];
    const { sfn, op, ctx } = setup({
      invoke: async (fn, payload) => {
        calls.push([fn, payload]);
        return fn.endsWith(':describe') ? { owned: true } : { ok: true };
      },
    });
    const arn = await createMachine(op, 'teardown', lambdaFlow);
    expect(arn).toBe('arn:aws:states:us-east-1:123456789012:stateMachine:teardown');
    const started = Date.now();
    const result = await run(sfn, op, arn, { stackId: 's-1' }, 'run-1');
    expect(Date.now() - started).toBeLessThan(1000); // STAGECREW_SFN_WAIT_SCALE=0: the hour-long Wait is skipped
    expect(result).toMatchObject({ status: 'SUCCEEDED', name: 'run-1', stateTransitionCount: 5 });
    expect(JSON.parse(result.output as string)).toEqual({
      stackId: 's-1',
      stack: { owned: true },
      deleted: { ok: true },
    });
    expect(calls).toEqual([
      [FN('describe'), { stackId: 's-1' }],
      [FN('delete'), { stackId: 's-1', stack: { owned: true } }],
    ]);
    const { events } = (await op('GetExecutionHistory', { executionArn: result.executionArn })) as {
      events: Array<Record<string, unknown>>;
    };
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'WaitStateEntered',
      'WaitStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    events.forEach((e, i) => {
      expect(e.id).toBe(i + 1);
      expect(e.previousEventId).toBe(i);
    });
    expect(events[1]).toMatchObject({ stateEnteredEventDetails: { name: 'Describe', input: '{"stackId":"s-1"}' } });
    expect(events[4]).toMatchObject({ lambdaFunctionSucceededEventDetails: { output: '{"owned":true}' } });
    expect(events.filter((e) => String(e.type).endsWith('StateEntered'))).toHaveLength(5);
    const statusEvents = ctx.events.filter(
      (e) => e.Source === 'aws.states' && e.DetailType === 'Step Functions Execution Status Change',
    );
    expect(statusEvents.map((e) => JSON.parse(e.Detail).status)).toEqual(['RUNNING', 'SUCCEEDED']);
    expect(JSON.parse(statusEvents[1]?.Detail ?? '{}')).toMatchObject({
      executionArn: result.executionArn,
      name: 'run-1',
      output: result.output,
    });
  });

  it('fails an execution with the Lambda error type and a JSON cause', async () => {
    const { sfn, op } = setup({
      invoke: async () => {
        throw Object.assign(new Error('stack is protected'), {
          name: 'ProtectedError',
          errorType: 'ProtectedError',
          errorMessage: 'stack is protected',
        });
      },
    });
    const arn = await createMachine(op, 'failing', lambdaFlow);
    const result = await run(sfn, op, arn, {});
    expect(result).toMatchObject({ status: 'FAILED', error: 'ProtectedError' });
    expect(JSON.parse(result.cause as string)).toMatchObject({
      errorMessage: 'stack is protected',
      errorType: 'ProtectedError',
    });
    const { events } = (await op('GetExecutionHistory', { executionArn: result.executionArn, reverseOrder: true })) as {
      events: Array<{ type: string }>;
    };
    expect(events[0]?.type).toBe('ExecutionFailed');
    expect(events.map((e) => e.type)).toContain('LambdaFunctionFailed');
  });

  it('calls aws-sdk integrations in-process, naming service errors as Step Functions does', async () => {
    const calls: Array<[string, string, Record<string, unknown>]> = [];
    const { sfn, op } = setup({
      call: async (service, operation, input) => {
        calls.push([service, operation, input]);
        if (operation === 'DescribeStacks')
          throw new AwsError('ValidationError', `Stack with id ${String(input.StackName)} does not exist`);
        if (operation === 'DeleteStack') return {};
        if (operation === 'DescribeExecution') return { executionArn: 'x', status: 'RUNNING' };
        throw new AwsError('TokenAlreadyExistsException', 'token');
      },
    });
    const arn = await createMachine(op, 'sdk', {
      StartAt: 'Delete',
      States: {
        Delete: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:cloudformation:deleteStack',
          Parameters: { 'StackName.$': '$.stackId', ClientRequestToken: 'tok-1' },
          ResultPath: null,
          Next: 'Describe',
        },
        Describe: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:cloudformation:describeStacks',
          Parameters: { 'StackName.$': '$.stackId' },
          Catch: [{ ErrorEquals: ['CloudFormation.CloudFormationException'], ResultPath: '$.err', Next: 'Peer' }],
          End: true,
        },
        Peer: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:sfn:describeExecution',
          Parameters: { ExecutionArn: 'arn:x' },
          ResultPath: '$.peer',
          Next: 'Token',
        },
        Token: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:cloudformation:createStack',
          Parameters: { StackName: 'x' },
          Catch: [
            { ErrorEquals: ['CloudFormation.TokenAlreadyExistsException'], ResultPath: '$.tokenErr', Next: 'Gone' },
          ],
          End: true,
        },
        Gone: { Type: 'Succeed' },
      },
    });
    const result = await run(sfn, op, arn, { stackId: 'app' });
    expect(result.status).toBe('SUCCEEDED');
    const output = JSON.parse(result.output as string);
    expect(output.err.Error).toBe('CloudFormation.CloudFormationException');
    expect(output.err.Cause).toContain('Stack with id app does not exist');
    expect(output.peer).toEqual({ ExecutionArn: 'x', Status: 'RUNNING' });
    expect(output.tokenErr.Error).toBe('CloudFormation.TokenAlreadyExistsException');
    expect(calls.slice(0, 3)).toEqual([
      ['cloudformation', 'DeleteStack', { StackName: 'app', ClientRequestToken: 'tok-1' }],
      ['cloudformation', 'DescribeStacks', { StackName: 'app' }],
      ['sfn', 'DescribeExecution', { executionArn: 'arn:x' }],
    ]);
    const { events } = (await op('GetExecutionHistory', { executionArn: result.executionArn })) as {
      events: Array<Record<string, unknown>>;
    };
    expect(events.find((e) => e.type === 'TaskScheduled')).toMatchObject({
      taskScheduledEventDetails: { resourceType: 'aws-sdk:cloudformation', resource: 'deleteStack' },
    });
    expect(events.find((e) => e.type === 'TaskFailed')).toMatchObject({
      taskFailedEventDetails: { error: 'CloudFormation.CloudFormationException' },
    });
  });

  it('waits for a task token until SendTaskSuccess, and rejects used, unknown and malformed tokens', async () => {
    const tokens: string[] = [];
    const { sfn, op } = setup({
      invoke: async (_fn, payload) => {
        tokens.push((payload as { token: string }).token);
        return null;
      },
    });
    const arn = await createMachine(op, 'callback', {
      StartAt: 'WaitForDelete',
      States: {
        WaitForDelete: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: {
            FunctionName: 'notify',
            Payload: { 'token.$': '$$.Task.Token', 'stack.$': '$.stackId', 'execution.$': '$$.Execution.Id' },
          },
          HeartbeatSeconds: 600,
          End: true,
        },
      },
    });
    const { executionArn } = await op('StartExecution', { stateMachineArn: arn, input: '{"stackId":"s-9"}' });
    await vi.waitFor(() => expect(tokens).toHaveLength(1));
    const token = tokens[0] as string;
    expect(token).toMatch(/^AQ[A-Za-z0-9_-]{100,}$/);
    await vi.waitFor(async () => {
      const { events } = (await op('GetExecutionHistory', { executionArn })) as {
        events: Array<Record<string, { parameters?: string }>>;
      };
      const scheduled = events.find((e) => e.type === ('TaskScheduled' as never));
      // As on AWS, the scheduled parameters carry the token (the only way a caller outside the task can see it).
      expect(JSON.parse(scheduled?.taskScheduledEventDetails?.parameters ?? '{}')).toMatchObject({
        FunctionName: 'notify',
        Payload: { token, stack: 's-9' },
      });
    });
    expect((await op('DescribeExecution', { executionArn })).status).toBe('RUNNING');
    await op('SendTaskHeartbeat', { taskToken: token });
    await op('SendTaskSuccess', { taskToken: token, output: '{"status":"DELETE_COMPLETE"}' });
    await sfn.engine.settled(executionArn as string);
    expect(await op('DescribeExecution', { executionArn })).toMatchObject({
      status: 'SUCCEEDED',
      output: '{"status":"DELETE_COMPLETE"}',
    });

    await expect(op('SendTaskSuccess', { taskToken: token, output: '{}' })).rejects.toMatchObject({
      code: 'TaskTimedOut',
      message: "Task Timed Out: 'Provided task does not exist anymore'",
    });
    await expect(op('SendTaskSuccess', { taskToken: 'nonsense', output: '{}' })).rejects.toMatchObject({
      code: 'InvalidToken',
    });
    await expect(op('SendTaskFailure', { taskToken: `AQ${'x'.repeat(60)}` })).rejects.toMatchObject({
      code: 'TaskDoesNotExist',
    });
  });

  it('fails the waiting task with SendTaskFailure, caught by the state machine', async () => {
    const tokens: string[] = [];
    const { sfn, op } = setup({
      call: async (_s, _o, input) => {
        tokens.push(String(input.Token));
        return {};
      },
    });
    const arn = await createMachine(op, 'callback-fail', {
      StartAt: 'Record',
      States: {
        Record: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:dynamodb:putItem.waitForTaskToken',
          Parameters: { TableName: 't', 'Token.$': '$$.Task.Token' },
          Catch: [{ ErrorEquals: ['StackDeleteFailed'], ResultPath: '$.failure', Next: 'Report' }],
          End: true,
        },
        Report: { Type: 'Pass', End: true },
      },
    });
    const { executionArn } = await op('StartExecution', { stateMachineArn: arn });
    await vi.waitFor(() => expect(tokens).toHaveLength(1));
    await op('SendTaskFailure', { taskToken: tokens[0], error: 'StackDeleteFailed', cause: 'bucket not empty' });
    await sfn.engine.settled(executionArn as string);
    const result = await op('DescribeExecution', { executionArn });
    expect(JSON.parse(result.output as string)).toEqual({
      failure: { Error: 'StackDeleteFailed', Cause: 'bucket not empty' },
    });
  });

  it('keeps execution names idempotent as AWS does', async () => {
    const tokens: string[] = [];
    const { sfn, op } = setup({
      invoke: async (_f, payload) => {
        tokens.push((payload as { t: string }).t);
        return {};
      },
    });
    const arn = await createMachine(op, 'named', {
      StartAt: 'Hold',
      States: {
        Hold: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: 'f', Payload: { 't.$': '$$.Task.Token' } },
          End: true,
        },
      },
    });
    const first = await op('StartExecution', { stateMachineArn: arn, name: 'pipeline-exec-1', input: '{"a":1}' });
    const again = await op('StartExecution', { stateMachineArn: arn, name: 'pipeline-exec-1', input: '{"a":1}' });
    expect(again).toEqual(first);
    await expect(
      op('StartExecution', { stateMachineArn: arn, name: 'pipeline-exec-1', input: '{"a":2}' }),
    ).rejects.toMatchObject({ code: 'ExecutionAlreadyExists' });
    await vi.waitFor(() => expect(tokens).toHaveLength(1));
    await op('SendTaskSuccess', { taskToken: tokens[0], output: '{}' });
    await sfn.engine.settled(first.executionArn as string);
    // A finished execution's name cannot be reused (for 90 days).
    await expect(
      op('StartExecution', { stateMachineArn: arn, name: 'pipeline-exec-1', input: '{"a":1}' }),
    ).rejects.toMatchObject({ code: 'ExecutionAlreadyExists' });
    await expect(op('StartExecution', { stateMachineArn: arn, name: 'bad name' })).rejects.toMatchObject({
      code: 'InvalidName',
    });
    await expect(op('StartExecution', { stateMachineArn: arn, input: '{nope' })).rejects.toMatchObject({
      code: 'InvalidExecutionInput',
    });
    const listed = await op('ListExecutions', { stateMachineArn: arn, statusFilter: 'SUCCEEDED' });
    expect((listed.executions as Array<{ name: string }>).map((e) => e.name)).toEqual(['pipeline-exec-1']);
  });

  it('stops a running execution and voids its task token', async () => {
    const tokens: string[] = [];
    const { sfn, op } = setup({
      invoke: async (_f, payload) => {
        tokens.push((payload as { t: string }).t);
        return {};
      },
    });
    const arn = await createMachine(op, 'stoppable', {
      StartAt: 'Hold',
      States: {
        Hold: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: 'f', Payload: { 't.$': '$$.Task.Token' } },
          End: true,
        },
      },
    });
    const { executionArn } = await op('StartExecution', { stateMachineArn: arn });
    await vi.waitFor(() => expect(tokens).toHaveLength(1));
    const stopped = await op('StopExecution', { executionArn, error: 'Superseded', cause: 'pipeline resumed' });
    expect(typeof stopped.stopDate).toBe('number');
    expect(await op('DescribeExecution', { executionArn })).toMatchObject({
      status: 'ABORTED',
      error: 'Superseded',
      cause: 'pipeline resumed',
    });
    await expect(op('SendTaskSuccess', { taskToken: tokens[0], output: '{}' })).rejects.toMatchObject({
      code: 'TaskTimedOut',
    });
    const { events } = (await op('GetExecutionHistory', { executionArn })) as { events: Array<{ type: string }> };
    expect(events.at(-1)?.type).toBe('ExecutionAborted');
    await sfn.stop?.();
  });

  it('validates and idempotently creates state machines', async () => {
    const { op } = setup();
    await expect(
      op('CreateStateMachine', {
        name: 'x',
        roleArn: ROLE,
        definition: '{"StartAt":"A","States":{"A":{"Type":"Pass"}}}',
      }),
    ).rejects.toMatchObject({
      code: 'InvalidDefinition',
    });
    await expect(op('CreateStateMachine', { name: 'x', roleArn: ROLE, definition: 'not json' })).rejects.toMatchObject({
      code: 'InvalidDefinition',
    });
    await expect(
      op('CreateStateMachine', { name: 'a/b', roleArn: ROLE, definition: JSON.stringify(lambdaFlow) }),
    ).rejects.toMatchObject({ code: 'InvalidName' });
    const arn = await createMachine(op, 'same', lambdaFlow);
    expect(await createMachine(op, 'same', lambdaFlow)).toBe(arn);
    await expect(createMachine(op, 'same', { StartAt: 'A', States: { A: { Type: 'Succeed' } } })).rejects.toMatchObject(
      { code: 'StateMachineAlreadyExists' },
    );
    await expect(op('DescribeStateMachine', { stateMachineArn: `${arn}-missing` })).rejects.toMatchObject({
      code: 'StateMachineDoesNotExist',
    });
    await expect(
      op('DescribeStateMachine', { stateMachineArn: 'arn:aws:sns:us-east-1:123456789012:topic' }),
    ).rejects.toMatchObject({ code: 'InvalidArn' });
    await op('UpdateStateMachine', {
      stateMachineArn: arn,
      definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Succeed' } } }),
    });
    expect(JSON.parse((await op('DescribeStateMachine', { stateMachineArn: arn })).definition as string).StartAt).toBe(
      'A',
    );
    expect((await op('ListStateMachines', {})).stateMachines).toHaveLength(1);
    await op('DeleteStateMachine', { stateMachineArn: arn });
    expect((await op('ListStateMachines', {})).stateMachines).toHaveLength(0);
  });

  it('runs Map iterations and scales dynamic Wait states', async () => {
    const { sfn, op } = setup({ waitScale: 0.001, invoke: async (_f, p) => ({ done: (p as { id: string }).id }) });
    const arn = await createMachine(op, 'fanout', {
      StartAt: 'Pause',
      States: {
        Pause: { Type: 'Wait', SecondsPath: '$.pause', Next: 'Each' },
        Each: {
          Type: 'Map',
          ItemsPath: '$.stacks',
          MaxConcurrency: 2,
          ItemProcessor: { StartAt: 'One', States: { One: { Type: 'Task', Resource: FN('one'), End: true } } },
          End: true,
        },
      },
    });
    const started = Date.now();
    const result = await run(sfn, op, arn, { pause: 60, stacks: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(55); // 60 s × 0.001
    expect(elapsed).toBeLessThan(1000);
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output as string)).toEqual([{ done: 'a' }, { done: 'b' }, { done: 'c' }]);
    expect(result.stateTransitionCount).toBe(5);
    const { events } = (await op('GetExecutionHistory', { executionArn: result.executionArn })) as {
      events: Array<{ type: string }>;
    };
    expect(events.filter((e) => e.type === 'MapIterationSucceeded')).toHaveLength(3);
    expect(events[1]?.type).toBe('WaitStateEntered');
  });

  it('restarts executions that were running from their input after a restart', async () => {
    const store = new MemoryStore();
    const tokens: string[] = [];
    const invoke: LocalContext['invoke'] = async (_f, payload) => {
      tokens.push((payload as { t: string }).t);
      return {};
    };
    const definition = {
      StartAt: 'Hold',
      States: {
        Hold: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: 'f', Payload: { 't.$': '$$.Task.Token', 'in.$': '$.n' } },
          End: true,
        },
      },
    };
    const before = setup({ store, invoke });
    const arn = await createMachine(before.op, 'durable', definition);
    const { executionArn } = await before.op('StartExecution', {
      stateMachineArn: arn,
      name: 'survivor',
      input: '{"n":7}',
    });
    await vi.waitFor(() => expect(tokens).toHaveLength(1));
    await before.sfn.stop?.(); // the process dies here

    const after = setup({ store, invoke });
    await after.sfn.start?.(after.ctx as TestContext);
    await vi.waitFor(() => expect(tokens).toHaveLength(2));
    await expect(after.op('SendTaskSuccess', { taskToken: tokens[0], output: '{}' })).rejects.toMatchObject({
      code: 'TaskTimedOut',
    });
    await after.op('SendTaskSuccess', { taskToken: tokens[1], output: '{"resumed":true}' });
    await after.sfn.engine.settled(executionArn as string);
    expect(await after.op('DescribeExecution', { executionArn })).toMatchObject({
      status: 'SUCCEEDED',
      output: '{"resumed":true}',
    });
    expect(store.get<{ restarts: number }>('sfn:executions', executionArn as string)?.restarts).toBe(1);
  });
});

describe('local Step Functions task timeouts', () => {
  it('fails a token task with States.Timeout when heartbeats stop, and SendTaskHeartbeat extends it', async () => {
    const tokens: string[] = [];
    const { sfn, op } = setup({
      invoke: async (_f, payload) => {
        tokens.push((payload as { t: string }).t);
        return {};
      },
    });
    const arn = await createMachine(op, 'heartbeat', {
      StartAt: 'Hold',
      States: {
        Hold: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: 'f', Payload: { 't.$': '$$.Task.Token' } },
          HeartbeatSeconds: 60,
          // As on AWS, States.TaskFailed does not match a timeout: the second catcher must take it.
          Catch: [
            { ErrorEquals: ['States.TaskFailed'], ResultPath: '$.failed', Next: 'Failed' },
            { ErrorEquals: ['States.Timeout'], ResultPath: '$.timedOut', Next: 'TimedOut' },
          ],
          End: true,
        },
        Failed: { Type: 'Fail', Error: 'WrongCatcher' },
        TimedOut: { Type: 'Fail', Error: 'HeartbeatLost' },
      },
    });
    const { executionArn } = await op('StartExecution', { stateMachineArn: arn });
    await vi.waitFor(() => expect(tokens).toHaveLength(1));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      vi.advanceTimersByTime(50_000);
      await op('SendTaskHeartbeat', { taskToken: tokens[0] });
      vi.advanceTimersByTime(50_000); // 100 s since the task started, 50 s since the heartbeat
      // Still alive only because the first heartbeat reset the 60 s timer (an expired token is TaskTimedOut).
      await op('SendTaskHeartbeat', { taskToken: tokens[0] });
      vi.advanceTimersByTime(60_001);
    } finally {
      vi.useRealTimers();
    }
    await sfn.engine.settled(executionArn as string);
    expect(await op('DescribeExecution', { executionArn })).toMatchObject({
      status: 'FAILED',
      error: 'HeartbeatLost',
    });
    await expect(op('SendTaskSuccess', { taskToken: tokens[0], output: '{}' })).rejects.toMatchObject({
      code: 'TaskTimedOut',
    });
    const { events } = (await op('GetExecutionHistory', { executionArn })) as { events: Array<{ type: string }> };
    expect(events.map((e) => e.type)).toContain('TaskTimedOut');
  });

  it('resolves TimeoutSecondsPath against the state input, not the Parameters output, as AWS does', async () => {
    const payloads: unknown[] = [];
    const { sfn, op } = setup({
      invoke: async (_f, payload) => {
        payloads.push(payload);
        return {};
      },
    });
    const arn = await createMachine(op, 'dynamic-timeout', {
      StartAt: 'Hold',
      States: {
        Hold: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          // `$.item.awaitSeconds` exists in the state input only: the Parameters output nests it under Payload.
          Parameters: { FunctionName: 'f', Payload: { 'state.$': '$', 't.$': '$$.Task.Token' } },
          TimeoutSecondsPath: '$.item.awaitSeconds',
          Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.timedOut', Next: 'TimedOut' }],
          End: true,
        },
        TimedOut: { Type: 'Fail', Error: 'DeadlinePassed' },
      },
    });
    const started = Date.now();
    const { executionArn } = await op('StartExecution', {
      stateMachineArn: arn,
      input: JSON.stringify({ item: { awaitSeconds: 1 } }),
    });
    await vi.waitFor(() => expect(payloads).toHaveLength(1));
    // The function sees exactly the Parameters output (no wrapper keys).
    expect(payloads[0]).toEqual({ state: { item: { awaitSeconds: 1 } }, t: expect.stringMatching(/^AQ/) });
    await vi.waitFor(async () => {
      const { events } = (await op('GetExecutionHistory', { executionArn })) as {
        events: Array<Record<string, { parameters?: string }>>;
      };
      const scheduled = events.find((e) => e.type === ('TaskScheduled' as never));
      expect(Object.keys(JSON.parse(scheduled?.taskScheduledEventDetails?.parameters ?? '{}'))).toEqual([
        'FunctionName',
        'Payload',
      ]);
    });
    expect((await op('DescribeExecution', { executionArn })).status).toBe('RUNNING');
    await sfn.engine.settled(executionArn as string);
    // The 1 s from the input, not the Parameters output (which has no such path and would fail the state).
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(await op('DescribeExecution', { executionArn })).toMatchObject({
      status: 'FAILED',
      error: 'DeadlinePassed',
    });
  });

  it('fails with States.Runtime when TimeoutSecondsPath does not name a positive integer', async () => {
    const { sfn, op } = setup({ invoke: async () => ({}) });
    const arn = await createMachine(op, 'bad-timeout', {
      StartAt: 'Call',
      States: { Call: { Type: 'Task', Resource: FN('f'), TimeoutSecondsPath: '$.seconds', End: true } },
    });
    expect(await run(sfn, op, arn, { seconds: 0 })).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(await run(sfn, op, arn, { other: 1 })).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(await run(sfn, op, arn, { seconds: 5 })).toMatchObject({ status: 'SUCCEEDED' });
  });
});
