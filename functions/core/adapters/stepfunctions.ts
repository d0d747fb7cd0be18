import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { awsErrorName, ConfigError, toDomainError } from '../errors.ts';
import type {
  StartOutcome,
  StopOutcome,
  TaskReportOutcome,
  TaskTokenSink,
  TeardownStarter,
} from '../teardown/ports.ts';

const STATE_MACHINE_ARN = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]{1,80})$/;

/** `arn:…:stateMachine:<sm>` + name → `arn:…:execution:<sm>:<name>` (StopExecution takes the execution ARN). */
export const executionArn = (stateMachineArn: string, name: string): string => {
  const m = STATE_MACHINE_ARN.exec(stateMachineArn);
  if (!m) throw new ConfigError(`"${stateMachineArn}" is not a state machine ARN`);
  return `arn:${m[1]}:states:${m[2]}:${m[3]}:execution:${m[4]}:${name}`;
};

/**
 * Step Functions for teardown. `ExecutionAlreadyExists` on start is success: the same name means the same pipeline
 * execution's teardown already runs (or ran), which is exactly what a duplicate event should find. Stopping an
 * execution that does not exist or has already ended is also success: there is nothing left to cancel.
 */
export class StepFunctionsTeardown implements TeardownStarter, TaskTokenSink {
  readonly #client: SFNClient;
  readonly #stateMachineArn: string;

  constructor(client: SFNClient, stateMachineArn: string) {
    executionArn(stateMachineArn, 'check');
    this.#client = client;
    this.#stateMachineArn = stateMachineArn;
  }

  async startTeardown(name: string, input: Record<string, unknown>): Promise<StartOutcome> {
    try {
      await this.#client.send(
        new StartExecutionCommand({ stateMachineArn: this.#stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return 'started';
    } catch (err) {
      if (awsErrorName(err) === 'ExecutionAlreadyExists') return 'already-exists';
      throw toDomainError(err, `StartExecution ${name}`);
    }
  }

  async stopTeardown(name: string): Promise<StopOutcome> {
    try {
      await this.#client.send(
        new StopExecutionCommand({
          executionArn: executionArn(this.#stateMachineArn, name),
          error: 'PipelineExecutionResumed',
          cause: 'the pipeline execution resumed; its test stacks are in use again',
        }),
      );
      return 'stopped';
    } catch (err) {
      // Never started (no terminal event yet) or already finished: nothing to cancel.
      if (awsErrorName(err) === 'ExecutionDoesNotExist') return 'not-running';
      throw toDomainError(err, `StopExecution ${name}`);
    }
  }

  async succeed(taskToken: string, output: Record<string, unknown>): Promise<TaskReportOutcome> {
    try {
      await this.#client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
      return 'reported';
    } catch (err) {
      if (isGoneToken(err)) return 'token-gone';
      throw toDomainError(err, 'SendTaskSuccess');
    }
  }

  async fail(taskToken: string, error: string, cause: string): Promise<TaskReportOutcome> {
    try {
      await this.#client.send(
        new SendTaskFailureCommand({ taskToken, error: error.slice(0, 256), cause: cause.slice(0, 32_768) }),
      );
      return 'reported';
    } catch (err) {
      if (isGoneToken(err)) return 'token-gone';
      throw toDomainError(err, 'SendTaskFailure');
    }
  }
}

/** The task already ended (timed out, completed by a poll, execution stopped): a late event is harmless. */
const isGoneToken = (err: unknown): boolean => {
  const name = awsErrorName(err);
  return name === 'TaskTimedOut' || name === 'TaskDoesNotExist' || name === 'InvalidToken';
};
