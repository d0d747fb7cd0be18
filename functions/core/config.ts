import { ConfigError } from './errors.ts';

/**
 * Environment readers used once at cold start. Required values throw ConfigError at init (fail fast);
 * only non-critical knobs take a default.
 */
export const requireEnv = (key: string, env: NodeJS.ProcessEnv = process.env): string => {
  const value = env[key];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(`environment variable ${key} is required`);
  }
  return value;
};

export const optionalEnv = (key: string, env: NodeJS.ProcessEnv = process.env): string | undefined => {
  const value = env[key];
  return value === undefined || value.trim() === '' ? undefined : value;
};

export const numberEnv = (key: string, defaultValue: number, env: NodeJS.ProcessEnv = process.env): number => {
  const raw = optionalEnv(key, env);
  if (raw === undefined) return defaultValue;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new ConfigError(`environment variable ${key} must be a number, got "${raw}"`);
  return value;
};

export const booleanEnv = (key: string, defaultValue: boolean, env: NodeJS.ProcessEnv = process.env): boolean => {
  const raw = optionalEnv(key, env);
  if (raw === undefined) return defaultValue;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new ConfigError(`environment variable ${key} must be true or false, got "${raw}"`);
};

/**
 * The hub's own account and region (template.yaml's Globals set STAGECREW_ACCOUNT_ID from AWS::AccountId; Lambda
 * sets AWS_REGION): the one location where it acts with its own credentials.
 */
export const homeLocation = (env: NodeJS.ProcessEnv = process.env): { accountId: string; region: string } => ({
  accountId: requireEnv('STAGECREW_ACCOUNT_ID', env),
  region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
});
