import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { describe, expect, it } from 'vitest';
import { PermissionError, UnavailableError } from '../../../functions/core/errors.ts';
import { JobInProgressError } from '../../../functions/core/jobs/errors.ts';
import { makeJobHandler } from '../../../functions/core/jobs/job-handler.ts';
import { LIMITS } from '../../../functions/core/jobs/limits.ts';
import { parseJobEvent, parseJobInput } from '../../../functions/core/jobs/schema.ts';
import { jobEvent, lambdaContext, MemoryPersistenceLayer, world } from './fakes.ts';

const GATE = { task: 'gate' };

const idempotent = (overrides = {}) => {
  const w = world(overrides);
  const persistenceStore = new MemoryPersistenceLayer();
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'jobId', throwOnNoIdempotencyKey: true });
  const inner = makeJobHandler({ ...w.deps, idempotency: { persistenceStore, config } });
  // As deployed: the raw event is parsed at the boundary (handler.ts), then handled.
  const handler = (event: unknown, context: Parameters<typeof inner>[1]) => inner(parseJobInput(event), context);
  return { ...w, handler, persistenceStore, log: w.deps.log as unknown as { lines: Array<Record<string, unknown>> } };
};

describe('job handler', () => {
  it('reports a job delivered twice exactly once (Lambda async retry)', async () => {
    const { handler, reporter } = idempotent();
    const event = jobEvent(GATE);
    const first = await handler(event, lambdaContext());
    const second = await handler(structuredClone(event), lambdaContext());
    expect(reporter.calls).toHaveLength(1);
    expect(first).toEqual({ jobId: event['CodePipeline.job'].id, task: 'gate', kind: 'success', outcome: 'reported' });
    // The retry returns the stored result without running the task or calling CodePipeline again.
    expect(second).toEqual(first);
  });

  it('counts a report that meets InvalidJobStateException as done', async () => {
    const { handler, reporter } = idempotent();
    const event = jobEvent(GATE);
    // Reported earlier by an invocation whose idempotency record was lost.
    reporter.markReported(event['CodePipeline.job'].id);
    const result = await handler(event, lambdaContext());
    expect(result).toMatchObject({ kind: 'success', outcome: 'already-reported' });
  });

  it('releases the job when the report could not be delivered, so the Lambda retry reports it', async () => {
    const { handler, reporter } = idempotent();
    const event = jobEvent(GATE);
    reporter.failNext = new UnavailableError('PutJobSuccessResult: ThrottlingException');
    await expect(handler(event, lambdaContext())).rejects.toThrow(UnavailableError);
    const retry = await handler(event, lambdaContext());
    expect(retry).toMatchObject({ kind: 'success', outcome: 'reported' });
    expect(reporter.reports).toHaveLength(1);
  });

  it('fails a delivery of a job another invocation holds, so Lambda retries it instead of dropping it', async () => {
    const { handler, reporter, persistenceStore } = idempotent();
    const event = jobEvent(GATE);
    // An invocation that crashed mid-job (a sandbox killed, the local cloud SIGKILLed) left its record INPROGRESS.
    const crashed = idempotent({ reporter: { report: () => new Promise(() => {}) } as never });
    void crashed.handler(event, lambdaContext(60_000));
    await new Promise((r) => setTimeout(r, 20));
    for (const [key, record] of crashed.persistenceStore.records) persistenceStore.records.set(key, record);
    expect([...persistenceStore.records.values()].map((r) => r.getStatus())).toEqual(['INPROGRESS']);
    // The retry while the record is held: an error (Lambda retries later), no report, not a silent success.
    await expect(handler(structuredClone(event), lambdaContext())).rejects.toThrow(JobInProgressError);
    expect(reporter.calls).toHaveLength(0);
    // A later retry, once the crashed invocation's record expired with its timeout, runs the job and reports once.
    for (const record of persistenceStore.records.values()) record.inProgressExpiryTimestamp = Date.now() - 1;
    expect(await handler(structuredClone(event), lambdaContext())).toMatchObject({
      kind: 'success',
      outcome: 'reported',
    });
    expect(reporter.calls).toHaveLength(1);
  });

  it('runs the job anyway when the idempotency store is down', async () => {
    const { handler, reporter, persistenceStore } = idempotent();
    persistenceStore.saveInProgress = async () => {
      throw new Error('DynamoDB unreachable');
    };
    const result = await handler(jobEvent(GATE), lambdaContext());
    expect(result).toMatchObject({ kind: 'success', outcome: 'reported' });
    expect(reporter.reports).toHaveLength(1);
  });

  it('does not run the job twice when only recording its completion failed', async () => {
    const { handler, reporter, persistenceStore } = idempotent();
    persistenceStore.saveSuccess = async () => {
      throw new Error('DynamoDB unreachable');
    };
    const result = await handler(jobEvent(GATE), lambdaContext());
    expect(result).toMatchObject({ kind: 'success', outcome: 'reported' });
    expect(reporter.calls).toHaveLength(1);
  });

  it('ends a malformed job event with a ConfigurationError naming the paths', async () => {
    const { handler, reporter } = idempotent();
    const event = jobEvent(GATE, {
      inputArtifacts: [{ name: 'BuildOutput', location: { type: 'S3', s3Location: {} } }],
    });
    const result = await handler(event, lambdaContext());
    expect(result).toMatchObject({ kind: 'failure', failureType: 'ConfigurationError', outcome: 'reported' });
    expect(reporter.reports[0]).toMatchObject({ type: 'ConfigurationError' });
    expect(reporter.reports[0]?.kind === 'failure' && reporter.reports[0].message).toMatch(
      /^job event is malformed: CodePipeline\.job\.data\.inputArtifacts\.0\.location\.s3Location\.bucketName/,
    );
  });

  it('cuts an overlong job id to the 1,500-character externalExecutionId on the malformed-event path', async () => {
    const { handler, reporter } = idempotent();
    const id = 'j'.repeat(LIMITS.externalExecutionId + 500);
    const event = jobEvent(GATE, { inputArtifacts: 'not a list' }, id);
    const result = await handler(event, lambdaContext());
    expect(result).toMatchObject({ jobId: id, kind: 'failure', failureType: 'ConfigurationError' });
    expect(reporter.calls).toHaveLength(1);
    const report = reporter.calls[0];
    expect(report?.jobId).toBe(id);
    expect(report?.externalExecutionId.length).toBeLessThanOrEqual(LIMITS.externalExecutionId);
    expect(report?.externalExecutionId.startsWith('j'.repeat(100))).toBe(true);
  });

  it('cuts an overlong job id to the 1,500-character externalExecutionId on the fallback report', async () => {
    const { handler, reporter } = idempotent();
    const id = 'k'.repeat(LIMITS.externalExecutionId + 500);
    // The first (failure) report is refused for good, so the handler sends its minimal fallback report.
    reporter.failNext = new PermissionError('PutJobFailureResult: AccessDenied');
    const result = await handler(jobEvent({ task: 'no-such-task' }, {}, id), lambdaContext());
    expect(result).toMatchObject({ jobId: id, kind: 'failure', failureType: 'JobFailed', outcome: 'reported' });
    expect(reporter.calls).toHaveLength(2);
    for (const report of reporter.calls) {
      expect(report.externalExecutionId.length).toBeLessThanOrEqual(LIMITS.externalExecutionId);
    }
  });

  it('drops an event that is not a job at all without throwing', async () => {
    const { handler, reporter } = idempotent();
    expect(await handler({ hello: 'world' }, lambdaContext())).toEqual({ skipped: 'not-a-job' });
    expect(reporter.calls).toEqual([]);
  });

  it('ends an unknown task with a ConfigurationError and never throws', async () => {
    const { handler, reporter } = idempotent();
    const result = await handler(jobEvent({ task: 'nope' }), lambdaContext());
    expect(result).toMatchObject({ kind: 'failure', failureType: 'ConfigurationError' });
    expect(reporter.reports).toHaveLength(1);
  });

  it('never writes the artifact credentials to a log line or a report', async () => {
    const { handler, reporter, log } = idempotent();
    await handler(jobEvent({ task: 'nope' }), lambdaContext());
    await handler(jobEvent(GATE, { inputArtifacts: [{ name: 'x', location: {} }] }), lambdaContext());
    const everything = JSON.stringify([log.lines, reporter.calls]);
    expect(everything).not.toContain('fake-secret-access-key-do-not-log');
    expect(everything).not.toContain('fake-session-token-do-not-log');
  });

  it('counts every outcome once, including skipped events', async () => {
    const counted: string[] = [];
    const { handler } = idempotent({ count: (m: string) => counted.push(m) });
    await handler(jobEvent(GATE), lambdaContext());
    await handler(jobEvent({ task: 'nope' }), lambdaContext());
    await handler({ not: 'a job' }, lambdaContext());
    expect(counted).toEqual(['JobSucceeded', 'JobFailed', 'JobSkipped']);
  });

  it('keeps parsed credentials out of JSON and inspect output', async () => {
    const parsed = parseJobEvent(jobEvent(GATE));
    if (!parsed.ok) throw new Error('expected a job');
    const { inspect } = await import('node:util');
    expect(JSON.stringify(parsed.job)).not.toContain('fake-secret');
    expect(inspect(parsed.job, { depth: 5 })).not.toContain('fake-secret');
    expect(`${parsed.job.credentials}`).toBe('[redacted]');
    expect(parsed.job.credentials?.secretAccessKey).toBe('fake-secret-access-key-do-not-log');
  });
});
