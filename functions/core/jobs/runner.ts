import { PermissionError, UnavailableError } from '../errors.ts';
import type { Clock } from '../ports.ts';
import { decodeContinuation, encodeContinuation } from './continuation.ts';
import { type Failure, JobConfigurationError, toFailure } from './errors.ts';
import { LIMITS, truncate } from './limits.ts';
import { checkOutputVariables } from './output-variables.ts';
import type {
  ArtifactSource,
  HttpFetch,
  JobReport,
  JobReporter,
  ReportOutcome,
  Sleep,
  StackPort,
  TeardownRegistry,
} from './ports.ts';
import type { Job } from './schema.ts';
import type { Task } from './task.ts';
import { parseUserParameters } from './user-parameters.ts';

export type RunnerDeps = {
  tasks: Readonly<Record<string, Task>>;
  clock: Clock;
  sleep: Sleep;
  fetch: HttpFetch;
  stacks: StackPort;
  teardown: TeardownRegistry;
  artifacts: ArtifactSource;
  reporter: JobReporter;
  /** Lambda time kept free at the end of an invocation for the report itself (default 10 s). */
  reserveMs?: number;
  /** Longest one invocation works before handing back with a continuation (default 60 s). */
  maxInvocationMs?: number;
};

/**
 * The action may run 24 hours in total; Stagecrew stops a little earlier so its own failure message, not
 * CodePipeline's generic timeout, is what the pipeline shows.
 */
const ACTION_MARGIN_MS = 10 * 60 * 1000;

export type Decision = { report: JobReport; task?: string };

const failure = (jobId: string, externalExecutionId: string, f: Failure): JobReport => ({
  kind: 'failure',
  jobId,
  type: f.type,
  message: truncate(f.message, LIMITS.failureMessage),
  externalExecutionId: truncate(externalExecutionId, LIMITS.externalExecutionId),
});

const formatDuration = (ms: number): string => {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${(m / 60).toFixed(1)} h`;
};

/**
 * Runs one invocation of a job and decides how it ends: final success (with output variables), success with a
 * continuation token (still running), or a typed failure. Never throws: every error becomes a failure report.
 * `lambdaRemainingMs` is the time this Lambda invocation has left.
 */
export const decideJob = async (job: Job, deps: RunnerDeps, lambdaRemainingMs: number): Promise<Decision> => {
  const now = () => deps.clock.now().getTime();
  const t0 = now();
  let externalExecutionId = job.id;
  let taskName: string | undefined;
  try {
    const { task: name, options } = parseUserParameters(job.userParameters);
    taskName = name;
    const task = Object.hasOwn(deps.tasks, name) ? deps.tasks[name] : undefined;
    if (task === undefined) {
      throw new JobConfigurationError(
        'task',
        `unknown task "${name}"; known tasks: ${Object.keys(deps.tasks).join(', ')}`,
      );
    }
    const prepared = task.prepare(options);
    const previous = job.continuationToken ? decodeContinuation(job.continuationToken, name) : undefined;
    externalExecutionId = previous?.first ?? job.id;
    const startedAt = previous?.start ?? t0;
    const deadline =
      previous?.deadline ??
      startedAt + Math.max(0, Math.min(prepared.timeoutMs, LIMITS.actionTotalMs - ACTION_MARGIN_MS));
    if (t0 >= deadline) {
      return {
        task: name,
        report: failure(job.id, externalExecutionId, {
          type: 'JobFailed',
          message: `${name}: deadline passed after ${formatDuration(t0 - startedAt)}`,
        }),
      };
    }
    const reserveMs = deps.reserveMs ?? 10_000;
    const maxInvocationMs = deps.maxInvocationMs ?? 60_000;
    const budgetEndsAt = Math.min(deadline, t0 + Math.max(0, Math.min(maxInvocationMs, lambdaRemainingMs - reserveMs)));
    const result = await prepared.run(previous?.s, {
      job,
      now,
      sleep: deps.sleep,
      startedAt,
      deadline,
      budgetEndsAt,
      invocation: previous ? previous.n : 0,
      artifacts: deps.artifacts.open(job),
      stacks: deps.stacks,
      teardown: deps.teardown,
      fetch: deps.fetch,
    });
    switch (result.status) {
      case 'succeeded': {
        const outputVariables = checkOutputVariables(result.outputVariables ?? {});
        return {
          task: name,
          report: {
            kind: 'success',
            jobId: job.id,
            summary: truncate(result.summary, LIMITS.summary),
            externalExecutionId: truncate(externalExecutionId, LIMITS.externalExecutionId),
            ...(Object.keys(outputVariables).length > 0 ? { outputVariables } : {}),
          },
        };
      }
      case 'failed':
        return {
          task: name,
          report: failure(job.id, externalExecutionId, { type: 'JobFailed', message: result.message }),
        };
      case 'running': {
        const t1 = now();
        if (t1 >= deadline) {
          return {
            task: name,
            report: failure(job.id, externalExecutionId, {
              type: 'JobFailed',
              message: `${name}: timed out after ${formatDuration(t1 - startedAt)}: ${result.summary}`,
            }),
          };
        }
        const continuationToken = encodeContinuation({
          v: 1,
          task: name,
          first: externalExecutionId,
          start: startedAt,
          deadline,
          n: previous ? previous.n + 1 : 1,
          s: result.state,
        });
        const elapsed = deadline > startedAt ? ((t1 - startedAt) / (deadline - startedAt)) * 100 : 0;
        const percentComplete = Math.min(99, Math.max(0, Math.floor(result.percentComplete ?? elapsed)));
        return {
          task: name,
          report: {
            kind: 'continuation',
            jobId: job.id,
            summary: truncate(result.summary, LIMITS.summary),
            externalExecutionId: truncate(externalExecutionId, LIMITS.externalExecutionId),
            continuationToken,
            percentComplete,
          },
        };
      }
    }
  } catch (err) {
    return { ...(taskName ? { task: taskName } : {}), report: failure(job.id, externalExecutionId, toFailure(err)) };
  }
};

export type JobRun = Decision & { outcome: ReportOutcome };

/**
 * Decides and reports. If CodePipeline refuses a success result for a reason a retry cannot fix (for example
 * OutputVariablesSizeExceededException), the job is ended with a failure instead of being left to hang.
 * Transient reporting errors (UnavailableError) and permission errors are thrown to the caller.
 */
export const runJob = async (job: Job, deps: RunnerDeps, lambdaRemainingMs: number): Promise<JobRun> => {
  const decision = await decideJob(job, deps, lambdaRemainingMs);
  try {
    return { ...decision, outcome: await deps.reporter.report(decision.report) };
  } catch (err) {
    if (decision.report.kind === 'failure' || err instanceof UnavailableError || err instanceof PermissionError) {
      throw err;
    }
    const f = toFailure(err);
    const report = failure(job.id, decision.report.externalExecutionId, {
      type: f.type === 'ConfigurationError' ? 'JobFailed' : f.type,
      message: `CodePipeline rejected the ${decision.report.kind} result: ${f.message}`,
    });
    return { ...decision, report, outcome: await deps.reporter.report(report) };
  }
};
