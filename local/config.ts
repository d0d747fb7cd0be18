import { resolve } from 'node:path';

/** The local cloud's own settings, from the environment of `npm start`. */
export class LocalConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalConfigError';
  }
}

export type LocalCloudConfig = { host: string; port: number; stateDir: string; allowRemote: boolean; demo: boolean };

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|::1|\[::1\])$/i;

export const isLoopback = (host: string): boolean => LOOPBACK.test(host);

export const readConfig = (env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LocalCloudConfig => {
  const host = env.STAGECREW_HOST?.trim() || '127.0.0.1';
  const rawPort = env.STAGECREW_PORT?.trim() || '4566';
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new LocalConfigError(`STAGECREW_PORT must be a port number (0-65535), got "${rawPort}"`);
  }
  const allowRemote = env.STAGECREW_ALLOW_REMOTE === 'true';
  assertBindable(host, allowRemote);
  // The first-hour demo recipients, channel and Slack token (see DEMO in main.ts); STAGECREW_DEMO=off starts bare.
  const demo = !['off', 'false', '0'].includes((env.STAGECREW_DEMO ?? '').trim().toLowerCase());
  return { host, port, stateDir: resolve(cwd, env.STAGECREW_STATE_DIR?.trim() || '.stagecrew'), allowRemote, demo };
};

/** The local cloud accepts any credentials, so it must not listen beyond this machine unless asked to. */
export const assertBindable = (host: string, allowRemote: boolean): void => {
  if (!isLoopback(host) && !allowRemote) {
    throw new LocalConfigError(
      `refusing to listen on non-loopback host "${host}": the local cloud accepts any credentials. ` +
        'Set STAGECREW_ALLOW_REMOTE=true to do it anyway.',
    );
  }
};
