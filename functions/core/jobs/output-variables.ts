import { JobConfigurationError, JobFailedError } from './errors.ts';
import { LIMITS, OUTPUT_VARIABLE_KEY, utf8Bytes } from './limits.ts';

/** Bytes the output variables take against the 122,880-byte quota (keys and values, UTF-8). */
export const outputVariablesSize = (vars: Readonly<Record<string, string>>): number =>
  Object.entries(vars).reduce((sum, [k, v]) => sum + utf8Bytes(k) + utf8Bytes(v), 0);

/**
 * Checks output variables before they are sent: keys must match `^[A-Za-z0-9@\-_]+$` and the total must fit
 * 122,880 bytes. Values are never cut (a cut URL or id is worse than a clear failure).
 */
export const checkOutputVariables = (vars: Readonly<Record<string, string>>): Record<string, string> => {
  for (const key of Object.keys(vars)) {
    if (!OUTPUT_VARIABLE_KEY.test(key)) {
      throw new JobConfigurationError('outputVariables', `key "${key}" must match ${OUTPUT_VARIABLE_KEY.source}`);
    }
  }
  const size = outputVariablesSize(vars);
  if (size > LIMITS.outputVariablesBytes) {
    throw new JobFailedError(
      `output variables take ${size} bytes; CodePipeline allows ${LIMITS.outputVariablesBytes} per action (select fewer)`,
    );
  }
  return { ...vars };
};

/** A key made safe for output variables: characters outside the allowed set become `_`. */
export const toVariableKey = (name: string): string => name.replace(/[^A-Za-z0-9@\-_]/g, '_') || '_';
