import {
  awsErrorName,
  ConfigError,
  isAccessDenied,
  isServerError,
  isThrottling,
  PermissionError,
  StagecrewError,
  UnavailableError,
  ValidationError,
} from '../errors.ts';

/**
 * How a job ends when it fails. These are CodePipeline's `FailureType` values; Stagecrew uses four of them
 * (RevisionOutOfSync and RevisionUnavailable belong to source actions).
 */
export type FailureType = 'ConfigurationError' | 'JobFailed' | 'PermissionError' | 'SystemUnavailable';

/**
 * The action is configured wrongly: bad UserParameters, unknown task, a file parameter naming a file that is not
 * in the artifact. `field` names the offending field (`task`, `urls[0].url`, `urlsFile.path`, …).
 */
export class JobConfigurationError extends StagecrewError {
  readonly field: string;
  constructor(field: string, message: string, options?: ErrorOptions) {
    super(`${field}: ${message}`, options);
    this.name = 'JobConfigurationError';
    this.field = field;
  }
}

/** The check itself failed (URL unhealthy, stack rolled back, gate closed): the pipeline should stop here. */
export class JobFailedError extends StagecrewError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'JobFailedError';
  }
}

export type Failure = { type: FailureType; message: string };

/**
 * Maps any error a task (or the runner) raised to a typed failure. Errors that survived the SDK's own retries
 * are classified by name and status: access denied → PermissionError, throttling/5xx/timeouts →
 * SystemUnavailable; anything unexpected is a JobFailed that names the error, so the pipeline's console shows
 * what went wrong.
 */
export const toFailure = (err: unknown): Failure => {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof JobConfigurationError || err instanceof ValidationError || err instanceof ConfigError) {
    return { type: 'ConfigurationError', message };
  }
  if (err instanceof JobFailedError) return { type: 'JobFailed', message };
  if (err instanceof PermissionError || isAccessDenied(err)) return { type: 'PermissionError', message };
  if (
    err instanceof UnavailableError ||
    isThrottling(err) ||
    isServerError(err) ||
    awsErrorName(err) === 'TimeoutError'
  ) {
    return { type: 'SystemUnavailable', message };
  }
  const name = awsErrorName(err) ?? 'Error';
  return { type: 'JobFailed', message: `${name}: ${message}` };
};

/** A token that is not ours or from an incompatible version: the job cannot continue safely. */
export class ContinuationTokenError extends JobFailedError {
  constructor(message: string) {
    super(message);
    this.name = 'ContinuationTokenError';
  }
}

/** The event could not be read at all (no job id): nothing can be reported, the invocation is dropped. */
export class NotAJobEventError extends ValidationError {
  constructor(issues: readonly string[]) {
    super(`not a CodePipeline job event: ${issues.join('; ')}`, issues);
    this.name = 'NotAJobEventError';
  }
}

/** Another invocation holds this job's idempotency record: thrown so that Lambda retries the delivery later. */
export class JobInProgressError extends StagecrewError {
  constructor(jobId: string) {
    super(`job ${jobId} is in progress in another invocation`, { retryable: true });
    this.name = 'JobInProgressError';
  }
}
