/**
 * CodePipeline's limits for job results (Smithy model of the CodePipeline API and the service quotas page).
 * The SDK does not check lengths client-side: a value over a limit comes back as a ValidationException,
 * which would leave the job unreported. Everything Stagecrew sends is cut to fit first.
 */
export const LIMITS = Object.freeze({
  /** FailureDetails.message: 1–5000 characters. */
  failureMessage: 5000,
  /** ExecutionDetails.summary: 1–2048 characters. */
  summary: 2048,
  /** ExecutionDetails.externalExecutionId / FailureDetails.externalExecutionId: 1–1500 characters. */
  externalExecutionId: 1500,
  /** PutJobSuccessResult.continuationToken: 1–2048 characters. */
  continuationToken: 2048,
  /** All output variables of one action together (service quota "Variable quotas"). */
  outputVariablesBytes: 122_880,
  /** Action configuration values, UserParameters included, after variable syntax. */
  userParameters: 1000,
  /** An Invoke (Lambda) action fails after 24 hours in total, however often it replies "in progress". */
  actionTotalMs: 24 * 60 * 60 * 1000,
});

/** Output variable keys must match this (PutJobSuccessResult `OutputVariablesKey`). */
export const OUTPUT_VARIABLE_KEY = /^[A-Za-z0-9@\-_]+$/;

/** Cuts `text` to at most `max` characters, marking the cut with an ellipsis; never returns an empty string. */
export const truncate = (text: string, max: number): string => {
  const value = text.length === 0 ? '-' : text;
  if (value.length <= max) return value;
  // Do not split a surrogate pair: the API counts characters, and half a pair is not valid UTF-8.
  let end = max - 1;
  const code = value.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${value.slice(0, end)}…`;
};

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');
