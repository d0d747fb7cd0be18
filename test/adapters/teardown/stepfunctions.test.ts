import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { executionArn, StepFunctionsTeardown } from '#core/adapters/stepfunctions';
import { ConfigError, UnavailableError } from '#core/errors';

const sfn = mockClient(SFNClient);
const arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:TeardownStateMachine-abc';
const meta = { $metadata: {} };

describe('StepFunctionsTeardown', () => {
  beforeEach(() => sfn.reset());

  it('starts an execution with the deterministic name and JSON input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'x', startDate: new Date() });
    const out = await new StepFunctionsTeardown(new SFNClient({}), arn).startTeardown('app--id', { a: 1 });
    expect(out).toBe('started');
    expect(sfn).toReceiveCommandWith(StartExecutionCommand, {
      stateMachineArn: arn,
      name: 'app--id',
      input: '{"a":1}',
    });
  });

  it('treats ExecutionAlreadyExists as success (duplicate events)', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', ...meta }));
    const out = await new StepFunctionsTeardown(new SFNClient({}), arn).startTeardown('app--id', {});
    expect(out).toBe('already-exists');
  });

  it('translates throttling into a retryable error', async () => {
    const err = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', ...meta });
    sfn.on(StartExecutionCommand).rejects(err);
    await expect(new StepFunctionsTeardown(new SFNClient({}), arn).startTeardown('n', {})).rejects.toBeInstanceOf(
      UnavailableError,
    );
  });

  it('stops by execution ARN and treats a missing execution as nothing to cancel', async () => {
    sfn
      .on(StopExecutionCommand)
      .resolvesOnce({ stopDate: new Date() })
      .rejects(new ExecutionDoesNotExist({ message: 'nope', ...meta }));
    const t = new StepFunctionsTeardown(new SFNClient({}), arn);
    expect(await t.stopTeardown('app--id')).toBe('stopped');
    expect(sfn).toReceiveCommandWith(StopExecutionCommand, {
      executionArn: 'arn:aws:states:us-east-1:123456789012:execution:TeardownStateMachine-abc:app--id',
    });
    expect(await t.stopTeardown('app--id')).toBe('not-running');
  });

  it('sends task success with JSON output; a timed-out token is harmless', async () => {
    sfn
      .on(SendTaskSuccessCommand)
      .resolvesOnce({})
      .rejects(new TaskTimedOut({ message: 'late', ...meta }));
    const t = new StepFunctionsTeardown(new SFNClient({}), arn);
    expect(await t.succeed('tok', { status: 'DELETE_COMPLETE' })).toBe('reported');
    expect(sfn).toReceiveCommandWith(SendTaskSuccessCommand, {
      taskToken: 'tok',
      output: '{"status":"DELETE_COMPLETE"}',
    });
    expect(await t.succeed('tok', {})).toBe('token-gone');
  });

  it('refuses a malformed state machine ARN at construction', () => {
    expect(() => new StepFunctionsTeardown(new SFNClient({}), 'nope')).toThrow(ConfigError);
    expect(() => executionArn('arn:aws:lambda:us-east-1:123456789012:function:x', 'n')).toThrow(ConfigError);
  });
});
