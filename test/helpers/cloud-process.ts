import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from './local-cloud.ts';

/**
 * `node local/main.ts` as a child process that a test can SIGKILL and start again on the same port and state
 * directory (the port stays the same so emailed links and the functions' endpoint keep working). Its output is
 * kept (the last 400 kB) for failure messages.
 */
export type CloudProcess = {
  url: string;
  port: number;
  stateDir: string;
  clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    forcePathStyle: boolean;
  };
  /** Starts the process (again); `env` is added to the environment of this start only. */
  start(env?: Record<string, string>): Promise<void>;
  /** SIGKILL: no shutdown code runs. */
  kill(): Promise<void>;
  /** How many times the process was started. */
  starts(): number;
  output(): string;
};

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const KEEP = 400_000;

export const cloudProcess = async (stateDir: string, baseEnv: Record<string, string> = {}): Promise<CloudProcess> => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let out = '';
  let count = 0;
  const append = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > KEEP) out = out.slice(-KEEP);
  };
  const kill = () =>
    new Promise<void>((resolve) => {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.removeAllListeners('exit');
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  const start = (env: Record<string, string> = {}) =>
    new Promise<void>((resolve, reject) => {
      count += 1;
      out += `\n----- start #${count} -----\n`;
      const c = spawn(process.execPath, [join(REPO_ROOT, 'local', 'main.ts')], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          ...baseEnv,
          ...env,
          // The restart tests assert on exact outboxes and timings: no first-hour demo recipients or short grace.
          STAGECREW_DEMO: 'off',
          STAGECREW_PORT: String(port),
          STAGECREW_STATE_DIR: stateDir,
          STAGECREW_HOST: '127.0.0.1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`local cloud did not start:\n${out.slice(-5000)}`)), 30_000);
      c.stdout?.on('data', (chunk: Buffer) => {
        append(chunk);
        if (seen.length < 10_000) {
          seen += chunk.toString();
          if (seen.includes('listening on')) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      c.stderr?.on('data', append);
      c.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`local cloud exited with ${code ?? signal}:\n${out.slice(-5000)}`));
      });
    });
  return {
    url,
    port,
    stateDir,
    clientConfig: {
      endpoint: url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      forcePathStyle: true,
    },
    start,
    kill,
    starts: () => count,
    output: () => out,
  };
};
