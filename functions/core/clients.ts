import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ConfigError } from './errors.ts';

/**
 * The one place SDK clients are configured. In local mode (STAGECREW_LOCAL_ENDPOINT or AWS_ENDPOINT_URL set)
 * every client talks to that endpoint, and only a loopback host is accepted: a known SDK regression once
 * sent local test traffic to real AWS, so anything else is refused outright.
 */
export type ClientSettings = {
  endpoint?: string;
  region: string;
  maxAttempts: number;
  requestHandler: NodeHttpHandler;
  /** Static credentials (local mode without a profile), or a provider (a member account's assumed-role session). */
  credentials?:
    | { accessKeyId: string; secretAccessKey: string }
    | (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }>);
};

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$/i;

export const localEndpoint = (env: NodeJS.ProcessEnv = process.env): string | undefined => {
  const raw = env.STAGECREW_LOCAL_ENDPOINT || env.AWS_ENDPOINT_URL || undefined;
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new ConfigError(`local endpoint "${raw}" is not a URL`, { cause });
  }
  if (!LOOPBACK.test(url.hostname)) {
    throw new ConfigError(`local endpoint host "${url.hostname}" is not a loopback address; refusing to send traffic`);
  }
  return url.origin;
};

/**
 * Settings for an AWS SDK v3 client: timeouts on every request (a hung socket never eats the Lambda timeout),
 * the SDK's standard retry strategy with backoff and jitter for throttling and 5xx, and the local endpoint
 * when one is configured.
 */
export type ClientOptions = { connectionTimeout?: number; requestTimeout?: number; maxAttempts?: number };

export const clientSettings = (options: ClientOptions = {}, env: NodeJS.ProcessEnv = process.env): ClientSettings => {
  const endpoint = localEndpoint(env);
  const settings: ClientSettings = {
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    maxAttempts: options.maxAttempts ?? 5,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeout ?? 3_000,
      requestTimeout: options.requestTimeout ?? 10_000,
      // Without this the handler only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
    }),
  };
  if (endpoint !== undefined) {
    settings.endpoint = endpoint;
    // The local cloud accepts any credentials; supply some so a laptop without an AWS profile works.
    if (!env.AWS_ACCESS_KEY_ID) settings.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  }
  return settings;
};
