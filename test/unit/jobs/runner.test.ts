import { describe, expect, it } from 'vitest';
import { PermissionError, UnavailableError } from '../../../functions/core/errors.ts';
import { decodeContinuation, encodeContinuation } from '../../../functions/core/jobs/continuation.ts';
import { JobConfigurationError, toFailure } from '../../../functions/core/jobs/errors.ts';
import { LIMITS, truncate } from '../../../functions/core/jobs/limits.ts';
import { checkOutputVariables } from '../../../functions/core/jobs/output-variables.ts';
import { decideJob, runJob } from '../../../functions/core/jobs/runner.ts';
import { defineTask } from '../../../functions/core/jobs/task.ts';
import * as z from '../../../functions/core/schemas/zod.ts';
import { makeJob, T0, world } from './fakes.ts';

describe('UserParameters', () => {
  it('ends a job without UserParameters with a ConfigurationError naming the field', async () => {
    const { deps } = world();
    const { report } = await decideJob(makeJob('', { userParameters: undefined }), deps, 100_000);
    expect(report).toMatchObject({ kind: 'failure', type: 'ConfigurationError' });
    expect(report.kind === 'failure' && report.message).toMatch(/^UserParameters: required/);
  });

  it('ends a job whose UserParameters are not JSON with a ConfigurationError', async () => {
    const { deps } = world();
    const { report } = await decideJob(makeJob('task=gate'), deps, 100_000);
    expect(report).toMatchObject({ kind: 'failure', type: 'ConfigurationError' });
    expect(report.kind === 'failure' && report.message).toMatch(/^UserParameters: not valid JSON/);
  });

  it('names the task field and lists the known tasks for an unknown task', async () => {
    const { deps } = world();
    const { report } = await decideJob(makeJob({ task: 'deploy-everything' }), deps, 100_000);
    expect(report.kind === 'failure' && report.type).toBe('ConfigurationError');
    expect(report.kind === 'failure' && report.message).toBe(
      'task: unknown task "deploy-everything"; known tasks: http-check, stack-outputs, register-test-stack, gate, wait-stack',
    );
  });

  it('does not treat inherited object keys as tasks', async () => {
    const { deps } = world();
    const { report } = await decideJob(makeJob({ task: 'constructor' }), deps, 100_000);
    expect(report.kind === 'failure' && report.message).toMatch(/^task: unknown task "constructor"/);
  });

  it('names the offending option by path', async () => {
    const { deps } = world();
    const { report } = await decideJob(
      makeJob({ task: 'http-check', urls: ['https://ok.example', 'ftp://x'] }),
      deps,
      1e5,
    );
    expect(report.kind === 'failure' && report.type).toBe('ConfigurationError');
    expect(report.kind === 'failure' && report.message).toMatch(/^urls\[1\]/);
  });

  it('rejects UserParameters over 1000 characters as CodePipeline does', async () => {
    const { deps } = world();
    const raw = JSON.stringify({ task: 'gate', pad: 'x'.repeat(1000) });
    const { report } = await decideJob(makeJob(raw), deps, 1e5);
    expect(report.kind === 'failure' && report.message).toMatch(/^UserParameters: 10\d\d characters/);
  });

  it('rejects unknown options of a task (typos must not pass silently)', async () => {
    const { deps } = world();
    const { report } = await decideJob(makeJob({ task: 'gate', timezon: 'UTC' }), deps, 1e5);
    expect(report.kind === 'failure' && report.type).toBe('ConfigurationError');
    expect(report.kind === 'failure' && report.message).toMatch(/timezon/);
  });
});

/** A task that runs `n` invocations, then succeeds; its state counts invocations. */
const counter = defineTask({
  name: 'counter',
  description: 'test task',
  options: z.object({
    n: z.int(),
    vars: z.optional(z.record(z.string(), z.string())),
    /** Repeat counts (UserParameters are capped at 1000 characters, so big values are built here). */
    summaryLength: z.optional(z.number()),
    bigVarChars: z.optional(z.number()),
  }),
  state: z.object({ seen: z.number() }),
  timeoutMs: () => 60 * 60_000,
  async run(o, state, ctx) {
    const seen = (state?.seen ?? 0) + 1;
    const summary = o.summaryLength ? 's'.repeat(o.summaryLength) : undefined;
    if (seen < o.n) return { status: 'running', summary: summary ?? `seen ${seen}`, state: { seen } };
    const vars = o.bigVarChars ? { ...o.vars, Big: 'é'.repeat(o.bigVarChars) } : o.vars;
    return {
      status: 'succeeded',
      summary: summary ?? `done after ${seen} (invocation ${ctx.invocation})`,
      outputVariables: vars,
    };
  },
});

describe('continuation', () => {
  it('continues with versioned state, then succeeds with output variables only on the final call', async () => {
    const { deps, clock } = world({ tasks: { counter } });
    const first = makeJob({ task: 'counter', n: 3, vars: { Answer: '42' } });
    const r1 = (await decideJob(first, deps, 1e5)).report;
    expect(r1.kind).toBe('continuation');
    if (r1.kind !== 'continuation') return;
    expect(JSON.parse(r1.continuationToken)).toEqual({
      v: 1,
      task: 'counter',
      first: first.id,
      start: T0,
      deadline: T0 + 60 * 60_000,
      n: 1,
      s: { seen: 1 },
    });
    expect(r1).not.toHaveProperty('outputVariables');
    expect(r1.externalExecutionId).toBe(first.id);

    clock.advance(6 * 60_000);
    const second = makeJob(
      { task: 'counter', n: 3, vars: { Answer: '42' } },
      { continuationToken: r1.continuationToken },
    );
    const r2 = (await decideJob(second, deps, 1e5)).report;
    expect(r2.kind === 'continuation' && r2.percentComplete).toBe(10);
    expect(r2.externalExecutionId).toBe(first.id);

    const third = makeJob(
      { task: 'counter', n: 3, vars: { Answer: '42' } },
      {
        continuationToken: r2.kind === 'continuation' ? r2.continuationToken : '',
      },
    );
    const r3 = (await decideJob(third, deps, 1e5)).report;
    expect(r3).toEqual({
      kind: 'success',
      jobId: third.id,
      summary: 'done after 3 (invocation 2)',
      externalExecutionId: first.id,
      outputVariables: { Answer: '42' },
    });
  });

  it('fails with JobFailed once the deadline has passed', async () => {
    const { deps, clock } = world({ tasks: { counter } });
    const token = encodeContinuation({
      v: 1,
      task: 'counter',
      first: 'j0',
      start: T0,
      deadline: T0 + 1000,
      n: 1,
      s: { seen: 1 },
    });
    clock.advance(2000);
    const { report } = await decideJob(makeJob({ task: 'counter', n: 5 }, { continuationToken: token }), deps, 1e5);
    expect(report).toMatchObject({ kind: 'failure', type: 'JobFailed', message: 'counter: deadline passed after 2 s' });
  });

  it('fails (JobFailed) on a token that is not ours or of another version', async () => {
    const { deps } = world({ tasks: { counter } });
    for (const token of ['token_ID', '{"v":2,"task":"counter"}', '{"previous_job_id":"x"}']) {
      const { report } = await decideJob(makeJob({ task: 'counter', n: 2 }, { continuationToken: token }), deps, 1e5);
      expect(report).toMatchObject({ kind: 'failure', type: 'JobFailed' });
      expect(report.kind === 'failure' && report.message).toMatch(/continuation token/);
    }
  });

  it('refuses a token of another task', () => {
    const token = encodeContinuation({ v: 1, task: 'gate', first: 'j', start: 0, deadline: 1, n: 1, s: {} });
    expect(() => decodeContinuation(token, 'wait-stack')).toThrow(/belongs to task gate/);
  });

  it('refuses to encode state over 2048 characters', () => {
    expect(() =>
      encodeContinuation({ v: 1, task: 't', first: 'j', start: 0, deadline: 1, n: 1, s: 'x'.repeat(2048) }),
    ).toThrow(/limit is 2048/);
  });

  it('caps the deadline below the 24-hour action limit', async () => {
    const long = defineTask({ ...counterDef(), timeoutMs: () => 48 * 3_600_000 });
    const { deps } = world({ tasks: { counter: long } });
    const { report } = await decideJob(makeJob({ task: 'counter', n: 2 }), deps, 1e5);
    const token = report.kind === 'continuation' ? JSON.parse(report.continuationToken) : {};
    expect(token.deadline - token.start).toBeLessThan(LIMITS.actionTotalMs);
    expect(token.deadline - token.start).toBeGreaterThan(23 * 3_600_000);
  });
});

const counterDef = () => ({
  name: 'counter',
  description: 'test',
  options: z.object({ n: z.number() }),
  state: z.object({ seen: z.number() }),
  timeoutMs: () => 1000,
  async run(o: { n: number }, state: { seen: number } | undefined) {
    const seen = (state?.seen ?? 0) + 1;
    return seen < o.n
      ? { status: 'running' as const, summary: 's', state: { seen } }
      : { status: 'succeeded' as const, summary: 'ok' };
  },
});

describe('limits', () => {
  it('truncates summaries to 2048 characters', async () => {
    const { deps } = world({ tasks: { counter } });
    const { report } = await decideJob(makeJob({ task: 'counter', n: 1, summaryLength: 3000 }), deps, 1e5);
    expect(report.kind === 'success' && report.summary.length).toBe(2048);
    expect(report.kind === 'success' && report.summary.endsWith('…')).toBe(true);
  });

  it('truncates failure messages to 5000 characters', async () => {
    const boom = defineTask({
      ...counterDef(),
      async run() {
        return { status: 'failed' as const, message: 'm'.repeat(9000) };
      },
    });
    const { deps } = world({ tasks: { counter: boom } });
    const { report } = await decideJob(makeJob({ task: 'counter', n: 1 }), deps, 1e5);
    expect(report.kind === 'failure' && report.message.length).toBe(5000);
  });

  it('never cuts a surrogate pair in half', () => {
    const cut = truncate(`${'a'.repeat(8)}😀😀`, 10);
    expect(cut).toBe(`${'a'.repeat(8)}…`);
  });

  it('rejects output variable keys outside ^[A-Za-z0-9@\\-_]+$', () => {
    expect(() => checkOutputVariables({ 'Api.Url': 'x' })).toThrow(JobConfigurationError);
    expect(checkOutputVariables({ 'Api-Url_2@x': 'x' })).toEqual({ 'Api-Url_2@x': 'x' });
  });

  it('fails a success whose output variables exceed 122,880 bytes', async () => {
    const { deps } = world({ tasks: { counter } });
    const { report } = await decideJob(makeJob({ task: 'counter', n: 1, bigVarChars: 61_440 }), deps, 1e5);
    expect(report).toMatchObject({ kind: 'failure', type: 'JobFailed' });
    expect(report.kind === 'failure' && report.message).toMatch(/122880/);
  });
});

describe('failure types', () => {
  it.each([
    [new JobConfigurationError('x', 'bad'), 'ConfigurationError'],
    [new PermissionError('denied'), 'PermissionError'],
    [Object.assign(new Error('User is not authorized'), { name: 'AccessDenied' }), 'PermissionError'],
    [new UnavailableError('throttled'), 'SystemUnavailable'],
    [Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }), 'SystemUnavailable'],
    [
      Object.assign(new Error('oops'), { name: 'InternalFailure', $metadata: { httpStatusCode: 503 } }),
      'SystemUnavailable',
    ],
    [new TypeError('x is undefined'), 'JobFailed'],
  ])('maps %s to %s', (err, type) => {
    expect(toFailure(err).type).toBe(type);
  });

  it('reports a throwing task as a typed failure instead of throwing', async () => {
    const throwing = defineTask({
      ...counterDef(),
      async run() {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      },
    });
    const { deps, reporter } = world({ tasks: { counter: throwing } });
    const run = await runJob(makeJob({ task: 'counter', n: 1 }), deps, 1e5);
    expect(run.outcome).toBe('reported');
    expect(reporter.reports).toEqual([
      expect.objectContaining({ kind: 'failure', type: 'SystemUnavailable', message: 'Rate exceeded' }),
    ]);
  });

  it('ends the job as failed when CodePipeline rejects the success result', async () => {
    const { deps, reporter } = world({ tasks: { counter } });
    const { ValidationError } = await import('../../../functions/core/errors.ts');
    reporter.failNext = new ValidationError('PutJobSuccessResult: OutputVariablesSizeExceededException: too big');
    const run = await runJob(makeJob({ task: 'counter', n: 1 }), deps, 1e5);
    expect(reporter.calls.map((c) => c.kind)).toEqual(['success', 'failure']);
    expect(run.report).toMatchObject({ kind: 'failure', type: 'JobFailed' });
    expect(run.report.kind === 'failure' && run.report.message).toMatch(/^CodePipeline rejected the success result/);
  });

  it('rethrows a report that failed for a transient reason (Lambda retries the job)', async () => {
    const { deps, reporter } = world({ tasks: { counter } });
    reporter.failNext = new UnavailableError('PutJobSuccessResult: ThrottlingException');
    await expect(runJob(makeJob({ task: 'counter', n: 1 }), deps, 1e5)).rejects.toThrow(UnavailableError);
  });
});
