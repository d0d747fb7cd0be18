import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalCloud, type StartOptions, startLocalCloud } from '#local/main';

/**
 * Starts a local cloud for a test: random port, fresh temp state dir, quiet, schedules off (tests run them with
 * `POST /_local/schedules/{name}`), fast async retries. Returns the URL and an SDK v3 client config.
 */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ECHO_FUNCTION_PATH = join(REPO_ROOT, 'test', 'helpers', 'local-echo-function.ts');

export type TestCloud = {
  url: string;
  stateDir: string;
  cloud: LocalCloud;
  /** Pass to any AWS SDK v3 client: `new SSMClient(t.clientConfig)`. */
  clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    forcePathStyle: boolean;
  };
  stop(): Promise<void>;
};

export const startTestCloud = async (options: Partial<StartOptions> = {}): Promise<TestCloud> => {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'stagecrew-local-'));
  const cloud = await startLocalCloud({
    port: 0,
    quiet: true,
    schedules: false,
    asyncRetryDelaysMs: [20, 40],
    ...options,
    stateDir,
  });
  return {
    url: cloud.url,
    stateDir,
    cloud,
    clientConfig: {
      endpoint: cloud.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      forcePathStyle: true,
    },
    async stop() {
      await cloud.stop();
      if (options.stateDir === undefined) rmSync(stateDir, { recursive: true, force: true });
    },
  };
};

/** Polls `fn` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export const waitFor = async <T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5_000,
  everyMs = 25,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`waitFor timed out after ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
};

/** A signed-looking request for protocol tests that need raw bodies the SDKs would never send. */
export const signedHeaders = (service: string): Record<string, string> => ({
  authorization: `AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`,
  'x-amz-date': '20260101T000000Z',
});
