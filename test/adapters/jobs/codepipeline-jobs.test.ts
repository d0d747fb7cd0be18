import {
  CodePipelineClient,
  InvalidJobStateException,
  JobNotFoundException,
  OutputVariablesSizeExceededException,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CodePipelineJobReporter } from '../../../functions/core/adapters/codepipeline-jobs.ts';
import { PermissionError, UnavailableError, ValidationError } from '../../../functions/core/errors.ts';
import { runJob } from '../../../functions/core/jobs/runner.ts';
import { makeJob, world } from '../../unit/jobs/fakes.ts';

const cp = mockClient(CodePipelineClient);
const JOB = '11111111-abcd-1111-abcd-111111abcdef';
const reporter = () => new CodePipelineJobReporter(new CodePipelineClient({ region: 'us-east-1' }));

describe('CodePipelineJobReporter', () => {
  beforeEach(() => cp.reset());

  it('sends a final success with output variables and 100 percent', async () => {
    cp.on(PutJobSuccessResultCommand).resolves({});
    const outcome = await reporter().report({
      kind: 'success',
      jobId: JOB,
      summary: 'read 1 output(s) of test-app: ApiUrl',
      externalExecutionId: JOB,
      outputVariables: { ApiUrl: 'https://x' },
    });
    expect(outcome).toBe('reported');
    expect(cp).toHaveReceivedCommandTimes(PutJobSuccessResultCommand, 1);
    expect(cp.commandCalls(PutJobSuccessResultCommand)[0]?.args[0].input).toEqual({
      jobId: JOB,
      executionDetails: {
        summary: 'read 1 output(s) of test-app: ApiUrl',
        externalExecutionId: JOB,
        percentComplete: 100,
      },
      outputVariables: { ApiUrl: 'https://x' },
    });
  });

  it('sends a continuation with its token and percentComplete, never output variables', async () => {
    cp.on(PutJobSuccessResultCommand).resolves({});
    await reporter().report({
      kind: 'continuation',
      jobId: JOB,
      summary: 'waiting',
      externalExecutionId: 'first-job',
      continuationToken: '{"v":1}',
      percentComplete: 42,
    });
    expect(cp.commandCalls(PutJobSuccessResultCommand)[0]?.args[0].input).toEqual({
      jobId: JOB,
      continuationToken: '{"v":1}',
      executionDetails: { summary: 'waiting', externalExecutionId: 'first-job', percentComplete: 42 },
    });
  });

  it('sends a typed failure', async () => {
    cp.on(PutJobFailureResultCommand).resolves({});
    await reporter().report({
      kind: 'failure',
      jobId: JOB,
      type: 'ConfigurationError',
      message: 'task: unknown task "x"',
      externalExecutionId: JOB,
    });
    expect(cp.commandCalls(PutJobFailureResultCommand)[0]?.args[0].input).toEqual({
      jobId: JOB,
      failureDetails: { type: 'ConfigurationError', message: 'task: unknown task "x"', externalExecutionId: JOB },
    });
  });

  it('cuts oversize values to the API limits instead of letting the API reject them', async () => {
    cp.on(PutJobFailureResultCommand).resolves({});
    cp.on(PutJobSuccessResultCommand).resolves({});
    await reporter().report({
      kind: 'failure',
      jobId: JOB,
      type: 'JobFailed',
      message: 'm'.repeat(6000),
      externalExecutionId: 'e'.repeat(2000),
    });
    await reporter().report({ kind: 'success', jobId: JOB, summary: 's'.repeat(3000), externalExecutionId: JOB });
    const failure = cp.commandCalls(PutJobFailureResultCommand)[0]?.args[0].input.failureDetails;
    expect(failure?.message).toHaveLength(5000);
    expect(failure?.externalExecutionId).toHaveLength(1500);
    expect(cp.commandCalls(PutJobSuccessResultCommand)[0]?.args[0].input.executionDetails?.summary).toHaveLength(2048);
  });

  it('treats InvalidJobStateException and JobNotFoundException as already reported', async () => {
    cp.on(PutJobSuccessResultCommand)
      .rejectsOnce(new InvalidJobStateException({ message: 'job is not in a valid state', $metadata: {} }))
      .rejectsOnce(new JobNotFoundException({ message: 'gone', $metadata: {} }));
    const r = reporter();
    const report = { kind: 'success' as const, jobId: JOB, summary: 's', externalExecutionId: JOB };
    expect(await r.report(report)).toBe('already-reported');
    expect(await r.report(report)).toBe('already-reported');
  });

  it('translates errors: size exceeded → ValidationError, throttling → UnavailableError, denied → PermissionError', async () => {
    const r = reporter();
    const report = { kind: 'success' as const, jobId: JOB, summary: 's', externalExecutionId: JOB };
    cp.on(PutJobSuccessResultCommand)
      .rejectsOnce(new OutputVariablesSizeExceededException({ message: 'too big', $metadata: {} }))
      .rejectsOnce(
        Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }),
      )
      .rejectsOnce(
        Object.assign(new Error('not authorized'), {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 400 },
        }),
      );
    await expect(r.report(report)).rejects.toThrow(ValidationError);
    await expect(r.report(report)).rejects.toThrow(UnavailableError);
    await expect(r.report(report)).rejects.toThrow(PermissionError);
  });
});

describe('runner through the CodePipeline adapter', () => {
  beforeEach(() => cp.reset());

  it('ends a job whose output variables CodePipeline refuses with one PutJobFailureResult', async () => {
    cp.on(PutJobSuccessResultCommand).rejects(
      new OutputVariablesSizeExceededException({ message: 'Exceeded', $metadata: {} }),
    );
    cp.on(PutJobFailureResultCommand).resolves({});
    const w = world({ reporter: reporter() });
    w.stacks.put({ stackName: 'test-app', outputs: { ApiUrl: 'https://x' } });
    const job = makeJob({ task: 'stack-outputs', stackName: 'test-app' });
    await runJob(job, w.deps, 1e5);
    expect(cp).toHaveReceivedCommandTimes(PutJobFailureResultCommand, 1);
    expect(cp.commandCalls(PutJobFailureResultCommand)[0]?.args[0].input).toEqual({
      jobId: job.id,
      failureDetails: {
        type: 'JobFailed',
        message: `CodePipeline rejected the success result: PutJobSuccessResult ${job.id}: OutputVariablesSizeExceededException: Exceeded`,
        externalExecutionId: job.id,
      },
    });
  });

  it('reports an unknown task as a ConfigurationError with the exact parameters', async () => {
    cp.on(PutJobFailureResultCommand).resolves({});
    const w = world({ reporter: reporter() });
    const job = makeJob('{"task":"smoke"}');
    await runJob(job, w.deps, 1e5);
    expect(cp.commandCalls(PutJobFailureResultCommand)[0]?.args[0].input).toEqual({
      jobId: job.id,
      failureDetails: {
        type: 'ConfigurationError',
        message:
          'task: unknown task "smoke"; known tasks: http-check, stack-outputs, register-test-stack, gate, wait-stack',
        externalExecutionId: job.id,
      },
    });
    expect(cp).not.toHaveReceivedCommand(PutJobSuccessResultCommand);
  });
});
