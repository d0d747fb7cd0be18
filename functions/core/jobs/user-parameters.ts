import type * as z from '../schemas/zod.ts';
import { JobConfigurationError } from './errors.ts';
import { LIMITS } from './limits.ts';

/** `urls[0].url` from zod's `['urls', 0, 'url']`. */
export const fieldPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((acc, part) => {
    if (typeof part === 'number') return `${acc}[${part}]`;
    const key = String(part);
    return acc === '' ? key : `${acc}.${key}`;
  }, '');

/**
 * Reads the action's UserParameters: a JSON object `{"task": "<name>", ...options}` of at most 1000 characters
 * (CodePipeline's limit for configuration values, after variable syntax is resolved).
 */
export const parseUserParameters = (raw: string | undefined): { task: string; options: Record<string, unknown> } => {
  if (raw === undefined || raw.trim() === '') {
    throw new JobConfigurationError('UserParameters', 'required: a JSON object such as {"task":"http-check",...}');
  }
  if (raw.length > LIMITS.userParameters) {
    throw new JobConfigurationError(
      'UserParameters',
      `${raw.length} characters; CodePipeline allows ${LIMITS.userParameters} (put long lists in an input artifact file)`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (cause) {
    throw new JobConfigurationError('UserParameters', `not valid JSON (${(cause as Error).message})`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JobConfigurationError('UserParameters', 'must be a JSON object with a "task" field');
  }
  const { task, ...options } = value as Record<string, unknown>;
  if (typeof task !== 'string' || task.trim() === '') {
    throw new JobConfigurationError('task', 'required: the name of a Stagecrew task');
  }
  return { task, options };
};

/** Validates a task's options against its schema; the first problem is named by field. */
export const parseOptions = <S extends z.ZodMiniType>(schema: S, options: unknown): z.output<S> => {
  const result = schema.safeParse(options);
  if (result.success) return result.data;
  const [first, ...rest] = result.error.issues;
  const field = first ? fieldPath(first.path) || 'UserParameters' : 'UserParameters';
  const more = rest.length > 0 ? ` (and ${rest.length} more: ${rest.map((i) => fieldPath(i.path)).join(', ')})` : '';
  throw new JobConfigurationError(field, `${first?.message ?? 'invalid'}${more}`);
};
