import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/cloud-process.ts';
import { REPO_ROOT } from '../helpers/local-cloud.ts';

/** `node local/main.ts` as a child process, killed with SIGKILL mid-life: nothing acknowledged may be lost. */
const start = (port: number, stateDir: string) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'local', 'main.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, STAGECREW_PORT: String(port), STAGECREW_STATE_DIR: stateDir, STAGECREW_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`local cloud did not start:\n${out}`)), 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('listening on')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local cloud exited with ${code}:\n${out}`));
    });
  });

const kill9 = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

const stateDir = mkdtempSync(join(tmpdir(), 'stagecrew-restart-'));
let child: ChildProcess | undefined;
afterAll(async () => {
  if (child) await kill9(child);
  rmSync(stateDir, { recursive: true, force: true });
});

describe('durability across kill -9', () => {
  it('keeps parameters, table items, topics and outbox messages', async () => {
    const port = await freePort();
    const config = {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    child = await start(port, stateDir);
    const ssm = new SSMClient(config);
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(config));
    const sns = new SNSClient(config);
    const secrets = new SecretsManagerClient(config);
    const secretBefore = await secrets.send(new GetSecretValueCommand({ SecretId: 'stagecrew-Secrets' }));
    await ssm.send(new PutParameterCommand({ Name: '/restart/p', Value: 'kept', Type: 'String' }));
    await doc.send(new PutCommand({ TableName: 'stagecrew-StateTable', Item: { pk: 'restart', sk: '1', v: 42 } }));
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'restart-topic' }));
    const posted = await fetch(`${config.endpoint}/_slack/api/chat.postMessage`, {
      method: 'POST',
      headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'C1', text: 'before the crash' }),
    });
    expect(await posted.json()).toMatchObject({ ok: true });

    await kill9(child);
    child = await start(port, stateDir);

    expect((await ssm.send(new GetParameterCommand({ Name: '/restart/p' }))).Parameter?.Value).toBe('kept');
    const item = await doc.send(new GetCommand({ TableName: 'stagecrew-StateTable', Key: { pk: 'restart', sk: '1' } }));
    expect(item.Item?.v).toBe(42);
    expect((await sns.send(new ListTopicsCommand({}))).Topics?.map((t) => t.TopicArn)).toContain(TopicArn);
    const outbox = (await (await fetch(`${config.endpoint}/_local/outbox`)).json()) as Array<{ text: string }>;
    expect(outbox.map((m) => m.text)).toContain('before the crash');
    // The generated secret was generated once: a restart does not replace it.
    const secretAfter = await secrets.send(new GetSecretValueCommand({ SecretId: 'stagecrew-Secrets' }));
    expect(secretAfter.SecretString).toBe(secretBefore.SecretString);
    expect(JSON.parse(secretAfter.SecretString ?? '{}').linkSigningKey).toHaveLength(64);
  });
});

describe('npm start process', () => {
  it('refuses a non-loopback host unless remote access is asked for', () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'local', 'main.ts')], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        STAGECREW_HOST: '0.0.0.0',
        STAGECREW_PORT: '0',
        STAGECREW_STATE_DIR: join(stateDir, 'refused'),
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('refusing to listen on non-loopback host "0.0.0.0"');
    expect(r.stderr).toContain('STAGECREW_ALLOW_REMOTE=true');
  });

  it('prints the endpoint and client environment, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const proc = spawn(process.execPath, [join(REPO_ROOT, 'local', 'main.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, STAGECREW_PORT: String(port), STAGECREW_STATE_DIR: join(stateDir, 'graceful') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!out.includes('AWS_ACCESS_KEY_ID') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain(`listening on http://127.0.0.1:${port}`);
    expect(out).toContain(`export AWS_ENDPOINT_URL=http://127.0.0.1:${port}`);
    expect(out).toContain('export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1');
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
