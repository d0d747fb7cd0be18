import {
  IdempotencyAlreadyInProgressError,
  type IdempotencyConfig,
  IdempotencyUnknownError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import { UnavailableError } from '../errors.ts';
import type { Log as CoreLog } from '../ports.ts';
import { JobInProgressError } from './errors.ts';
import { LIMITS, truncate } from './limits.ts';
import type { JobReport, ReportOutcome } from './ports.ts';
import { type RunnerDeps, runJob } from './runner.ts';
import type { Job, JobInput } from './schema.ts';

/** The house Log, plus keys that stay on every line of this invocation (the job id). */
type Log = CoreLog & { appendKeys(keys: Record<string, unknown>): void };

export type JobHandlerDeps = RunnerDeps & {
  log: Log;
  /** Counts each outcome (JobSucceeded, JobContinued, JobFailed, JobSkipped); the root wires Powertools metrics. */
  count?: (metric: 'JobSucceeded' | 'JobContinued' | 'JobFailed' | 'JobSkipped') => void;
  /** Powertools idempotency keyed by job id; omitted only in tests that exercise the runner alone. */
  idempotency?: { persistenceStore: BasePersistenceLayer; config: IdempotencyConfig };
};

/** What the handler returns (CodePipeline ignores it; tests and the local cloud read it). */
export type JobHandlerResult =
  | {
      jobId: string;
      task?: string;
      kind: JobReport['kind'];
      failureType?: string;
      /** `unreported`: every attempt to report failed for a reason a retry cannot fix (logged as an error). */
      outcome: ReportOutcome | 'unreported';
    }
  | { jobId?: string; skipped: 'not-a-job' };

type Summary = Extract<JobHandlerResult, { kind: string }>;
type Done = { result?: Summary };

/**
 * The Invoke action entry point: parse → (idempotent per job id) run the task → exactly one
 * PutJobSuccessResult/PutJobFailureResult.
 *
 * It never throws for anything a retry cannot fix, because CodePipeline invokes asynchronously and Lambda would
 * retry the whole job. The exceptions are a report that could not be delivered (CodePipeline throttled or
 * down after the SDK's retries): then the idempotency record is released and the error is rethrown, so Lambda's
 * async retry delivers the job again; a retry whose report meets InvalidJobStateException counts as done; and a
 * job held by another invocation (JobInProgressError), which a later retry finds done or free.
 */
export const makeJobHandler = (deps: JobHandlerDeps) => {
  const summarize = (run: Awaited<ReturnType<typeof runJob>>): Summary => ({
    jobId: run.report.jobId,
    ...(run.task ? { task: run.task } : {}),
    kind: run.report.kind,
    ...(run.report.kind === 'failure' ? { failureType: run.report.type } : {}),
    outcome: run.outcome,
  });

  /** `done` remembers a finished run, so a failure of the idempotency store afterwards does not run it again. */
  const runOnce = async (_key: { jobId: string }, job: Job, remainingMs: number, done: Done): Promise<Summary> => {
    done.result = summarize(await runJob(job, deps, remainingMs));
    return done.result;
  };

  const idempotency = deps.idempotency;
  const runIdempotent = idempotency
    ? makeIdempotent(runOnce, { persistenceStore: idempotency.persistenceStore, config: idempotency.config })
    : runOnce;

  const counted = (r: JobHandlerResult): JobHandlerResult => {
    if (deps.count) {
      if ('skipped' in r) deps.count('JobSkipped');
      else deps.count(r.kind === 'success' ? 'JobSucceeded' : r.kind === 'continuation' ? 'JobContinued' : 'JobFailed');
    }
    return r;
  };

  const handle = async (
    parsed: JobInput,
    context: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<JobHandlerResult> => {
    if ('notAJob' in parsed) {
      // No job id: nothing can be reported and a retry cannot help. Log the paths only, never the event.
      deps.log.error('not a CodePipeline job event', { issues: parsed.issues });
      return { skipped: 'not-a-job' };
    }
    const remainingMs = context.getRemainingTimeInMillis();
    if (!parsed.ok) {
      const report: JobReport = {
        kind: 'failure',
        jobId: parsed.jobId,
        type: 'ConfigurationError',
        message: truncate(`job event is malformed: ${parsed.issues.join('; ')}`, LIMITS.failureMessage),
        // A malformed event's id is unchecked: cut it like every other report does, or the API refuses the call.
        externalExecutionId: truncate(parsed.jobId, LIMITS.externalExecutionId),
      };
      deps.log.appendKeys({ jobId: parsed.jobId });
      const outcome = await deps.reporter.report(report);
      deps.log.warn('malformed job event', { issues: parsed.issues, outcome });
      return { jobId: parsed.jobId, kind: 'failure', failureType: 'ConfigurationError', outcome };
    }
    const job = parsed.job;
    deps.log.appendKeys({ jobId: job.id });
    if (idempotency) {
      // In-progress records expire with this invocation's own timeout, so a crashed run can be retried.
      // (Powertools reads only getRemainingTimeInMillis from the context.)
      idempotency.config.registerLambdaContext(context as Context);
    }
    let result: Summary;
    const done: Done = {};
    try {
      result = await runIdempotent({ jobId: job.id }, job, remainingMs, done);
    } catch (err) {
      if (err instanceof IdempotencyAlreadyInProgressError) {
        // Another invocation holds the job: a concurrent delivery that will report, or one that crashed (its
        // record stays INPROGRESS until its own timeout). Reporting here would be a second result; returning
        // would end Lambda's retries and leave a crashed job unreported until CodePipeline times it out. So fail
        // this invocation: the async retry comes back after the lock is released or expired, and then either
        // finds the stored result or runs the job.
        deps.log.warn('job already in progress in another invocation; leaving it to the Lambda retry', {});
        deps.count?.('JobSkipped');
        throw new JobInProgressError(job.id);
      }
      if (err instanceof IdempotencyUnknownError) {
        // The idempotency store failed (unreachable, or an inconsistent record). If the job already ran and was
        // reported, that stands. Otherwise running without the store is safe: a second report of the same job
        // meets InvalidJobStateException, which counts as done. Leaving the job unreported is not.
        deps.log.warn('idempotency store failed', { error: err.message, ran: done.result !== undefined });
        result = done.result ?? (await runOnce({ jobId: job.id }, job, remainingMs, done));
      } else if (err instanceof UnavailableError) {
        deps.log.error('job result could not be reported; leaving it to the Lambda retry', { error: err.message });
        throw err;
      } else {
        deps.log.error('job result could not be reported', { error: err instanceof Error ? err.message : String(err) });
        return reportFallback(job, deps, err);
      }
    }
    deps.log.info('job reported', { ...result });
    return result;
  };

  return async (input: JobInput, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<JobHandlerResult> =>
    counted(await handle(input, context));
};

/** Last resort when reporting failed for a reason a retry cannot fix: one more, minimal failure report. */
const reportFallback = async (job: Job, deps: JobHandlerDeps, err: unknown): Promise<JobHandlerResult> => {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  try {
    const outcome = await deps.reporter.report({
      kind: 'failure',
      jobId: job.id,
      type: 'JobFailed',
      message: truncate(`Stagecrew could not report the result: ${message}`, LIMITS.failureMessage),
      externalExecutionId: truncate(job.id, LIMITS.externalExecutionId),
    });
    return { jobId: job.id, kind: 'failure', failureType: 'JobFailed', outcome };
  } catch (again) {
    deps.log.error('fallback failure report failed too', {
      error: again instanceof Error ? again.message : String(again),
    });
    return { jobId: job.id, kind: 'failure', failureType: 'JobFailed', outcome: 'unreported' };
  }
};
