/**
 * Stagecrew's error hierarchy. Every error sets `name` (Step Functions `ErrorEquals`, logs and tests match on it)
 * and keeps `cause`. `retryable` tells callers (and Step Functions Retry) whether trying again can help.
 */
export class StagecrewError extends Error {
  readonly retryable: boolean;
  constructor(message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(message, options);
    this.name = 'StagecrewError';
    this.retryable = options?.retryable ?? false;
  }
}

/** Required configuration is missing or malformed: fail fast at init. */
export class ConfigError extends StagecrewError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** Inbound input failed validation; `issues` says where. Maps to 4xx / ConfigurationError. */
export class ValidationError extends StagecrewError {
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

export class NotFoundError extends StagecrewError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}

/** A conditional write lost a race or the resource is in a state that forbids the change. */
export class ConflictError extends StagecrewError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConflictError';
  }
}

/** A dependency (AWS, Slack) was throttled or unavailable after retries: safe to retry later. */
export class UnavailableError extends StagecrewError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, retryable: true });
    this.name = 'UnavailableError';
  }
}

/** Access to a dependency was denied (IAM, Slack scopes). */
export class PermissionError extends StagecrewError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PermissionError';
  }
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'SlowDown',
  'LimitExceededException',
]);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'NotAuthorized']);

/** The AWS error name of an SDK v3 exception (or `undefined` for a non-AWS error). */
export const awsErrorName = (err: unknown): string | undefined =>
  typeof err === 'object' && err !== null && 'name' in err && typeof err.name === 'string' ? err.name : undefined;

const httpStatus = (err: unknown): number | undefined => {
  if (typeof err !== 'object' || err === null || !('$metadata' in err)) return undefined;
  const meta = (err as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return meta?.httpStatusCode;
};

/** Connection-level failures (reset, refused, DNS, unreachable) and timeouts the SDK retries as transient. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const TIMEOUTS = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

const errorCode = (err: unknown): string | undefined =>
  typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;

export const isThrottling = (err: unknown): boolean => THROTTLING.has(awsErrorName(err) ?? '');
export const isAccessDenied = (err: unknown): boolean => DENIED.has(awsErrorName(err) ?? '');
export const isServerError = (err: unknown): boolean => (httpStatus(err) ?? 0) >= 500;
/** A timeout or a dropped/refused connection: the call may or may not have happened, and trying again can help. */
export const isNetworkError = (err: unknown): boolean =>
  TIMEOUTS.has(awsErrorName(err) ?? '') || NETWORK_CODES.has(errorCode(err) ?? '');

/**
 * Translates an AWS SDK error that survived the SDK's own retries into a domain error, keeping the cause.
 * Errors that are already Stagecrew errors pass through unchanged.
 */
export const toDomainError = (err: unknown, what: string): Error => {
  if (err instanceof StagecrewError) return err;
  if (isThrottling(err) || isServerError(err) || isNetworkError(err)) {
    const name = awsErrorName(err);
    const label = name === undefined || name === 'Error' ? (errorCode(err) ?? 'unavailable') : name;
    return new UnavailableError(`${what}: ${label}`, { cause: err });
  }
  if (isAccessDenied(err)) return new PermissionError(`${what}: access denied`, { cause: err });
  return err instanceof Error ? err : new StagecrewError(`${what}: ${String(err)}`, { cause: err });
};
