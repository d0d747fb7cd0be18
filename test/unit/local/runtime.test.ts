import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assertBindable, readConfig } from '#local/config';
import { Invoker } from '#local/runtime/invoker';
import { extractLinks, Outbox } from '#local/runtime/outbox';
import { rateMs, Scheduler } from '#local/runtime/scheduler';
import { FileStore, MemoryStore } from '#local/store/store';

const ECHO = join(import.meta.dirname, '..', '..', 'helpers', 'local-echo-function.ts');
const log = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('outbox links', () => {
  it('finds absolute links in text, Slack mrkdwn, HTML and blocks, resolving relative hrefs', () => {
    const links = extractLinks(
      {
        text: 'Open <https://h/approvals/1?a=1&amp;b=2|here>. Or https://h/x.',
        html: '<a href="/approvals/1/decision">d</a> <a href="mailto:a@b">m</a>',
        blocks: [{ type: 'actions', elements: [{ url: 'https://h/button' }] }],
      },
      'http://127.0.0.1:4566',
    );
    expect(links).toEqual([
      'https://h/approvals/1?a=1&b=2',
      'https://h/x',
      'http://127.0.0.1:4566/approvals/1/decision',
      'https://h/button',
    ]);
  });

  it('keeps messages oldest first and replaces a Slack message on update', () => {
    const outbox = new Outbox(new MemoryStore(), 'http://l');
    outbox.addSlack({ channel: 'C', ts: '1.1', text: 'first https://a/1' }, new Date('2026-01-01T00:00:02Z'));
    outbox.addEmail({ from: 'f', to: ['t'], subject: 's', text: 'x' }, new Date('2026-01-01T00:00:01Z'));
    expect(outbox.list().map((m) => m.channel)).toEqual(['email', 'slack']);
    outbox.updateSlack('C', '1.1', { text: 'second' });
    const slack = outbox.list().filter((m) => m.channel === 'slack');
    expect(slack).toHaveLength(1);
    expect(slack[0]).toMatchObject({ text: 'second', links: [], slack: { versions: 2 } });
    expect(outbox.updateSlack('C', '9.9', { text: 'x' })).toBeUndefined();
  });
});

describe('scheduler', () => {
  it('parses rate expressions and refuses malformed ones', () => {
    expect(rateMs('rate(5 minutes)')).toBe(300_000);
    expect(rateMs('rate(1 hour)')).toBe(3_600_000);
    expect(rateMs('cron(0 12 * * ? *)')).toBeUndefined();
    expect(() => rateMs('rate(1 hours)')).toThrow(/malformed/);
    expect(() => rateMs('rate(5 minute)')).toThrow(/malformed/);
    expect(() => rateMs('every day')).toThrow(/unsupported/);
  });

  it('runs a schedule on demand with the ScheduleV2 or Schedule payload and persists the last run', async () => {
    const store = new MemoryStore();
    const calls: Array<[string, unknown]> = [];
    const scheduler = new Scheduler({
      store,
      log,
      region: 'us-east-1',
      accountId: '000000000000',
      now: () => Date.parse('2026-01-01T00:00:00Z'),
      invoke: async (fn, payload) => {
        calls.push([fn, payload]);
      },
      schedules: [
        { name: 'v2', kind: 'ScheduleV2', expression: 'rate(1 hour)', functionName: 'f', enabled: true },
        { name: 'v1', kind: 'Schedule', expression: 'rate(1 hour)', functionName: 'g', enabled: true },
      ],
    });
    await scheduler.runNow('v2');
    await scheduler.runNow('v1');
    expect(calls[0]).toEqual(['f', {}]);
    expect(calls[1]?.[1]).toMatchObject({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      time: '2026-01-01T00:00:00Z',
    });
    expect(scheduler.list()[0]).toMatchObject({
      lastRunAt: '2026-01-01T00:00:00.000Z',
      nextRunAt: '2026-01-01T01:00:00.000Z',
    });
    await expect(scheduler.runNow('nope')).rejects.toThrow(/no schedule named nope/);
  });
});

describe('scheduler timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires on its rate, and after a restart keeps the cadence (a run missed while stopped happens once)', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') });
    const store = new MemoryStore();
    const fired: number[] = [];
    const make = () =>
      new Scheduler({
        store,
        log,
        region: 'us-east-1',
        accountId: '000000000000',
        invoke: async () => {
          fired.push(Date.now());
        },
        schedules: [{ name: 's', kind: 'ScheduleV2', expression: 'rate(5 minutes)', functionName: 'f', enabled: true }],
      });
    const first = make();
    first.start();
    await vi.advanceTimersByTimeAsync(4 * 60_000);
    expect(fired).toEqual([]); // a new schedule fires one period after it is created
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fired).toEqual([Date.parse('2026-01-01T00:05:00Z')]);
    first.stop();

    await vi.advanceTimersByTimeAsync(20 * 60_000); // stopped for 20 minutes: 3 periods missed
    const second = make();
    second.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(fired).toHaveLength(2); // the missed runs collapse into one, at start
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(fired).toHaveLength(3);
    second.stop();
  });

  it('does not arm disabled or cron schedules', async () => {
    vi.useFakeTimers();
    const fired: string[] = [];
    const scheduler = new Scheduler({
      store: new MemoryStore(),
      log,
      region: 'us-east-1',
      accountId: '000000000000',
      invoke: async (fn) => {
        fired.push(fn);
      },
      schedules: [
        { name: 'off', kind: 'ScheduleV2', expression: 'rate(1 minute)', functionName: 'a', enabled: false },
        { name: 'cron', kind: 'Schedule', expression: 'cron(0 12 * * ? *)', functionName: 'b', enabled: true },
      ],
    });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(fired).toEqual([]);
    await scheduler.runNow('cron');
    expect(fired).toEqual(['b']);
    scheduler.stop();
  });
});

describe('config', () => {
  it('refuses a non-loopback host unless remote access is allowed', () => {
    expect(() => assertBindable('0.0.0.0', false)).toThrow(/STAGECREW_ALLOW_REMOTE/);
    expect(() => assertBindable('0.0.0.0', true)).not.toThrow();
    expect(() => assertBindable('::1', false)).not.toThrow();
    expect(readConfig({ STAGECREW_PORT: '0' }, '/w')).toEqual({
      host: '127.0.0.1',
      port: 0,
      stateDir: '/w/.stagecrew',
      allowRemote: false,
      demo: true,
    });
    expect(readConfig({ STAGECREW_DEMO: 'off' }, '/w').demo).toBe(false);
    expect(() => readConfig({ STAGECREW_PORT: 'http' })).toThrow(/STAGECREW_PORT/);
    expect(() => readConfig({ STAGECREW_HOST: '10.0.0.5' })).toThrow(/non-loopback/);
  });
});

describe('invoker', () => {
  let dir: string | undefined;
  let invoker: Invoker | undefined;
  afterEach(async () => {
    await invoker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('resumes an async invocation that was queued before a restart', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stagecrew-invoker-'));
    const before = new FileStore(dir);
    before.put('lambda:async-queue', 'q1', {
      id: 'q1',
      functionName: 'echo',
      payload: { n: 1 },
      attempt: 0,
      notBefore: 0,
    });
    before.close();

    const store = new FileStore(dir);
    invoker = new Invoker({ store, log, output: () => undefined });
    invoker.register({
      name: 'echo',
      arn: 'arn:aws:lambda:us-east-1:000000000000:function:echo',
      modulePath: ECHO,
      exportName: 'handler',
      timeoutSeconds: 5,
      memoryMb: 128,
      environment: {},
    });
    invoker.start();
    const deadline = Date.now() + 5_000;
    while (invoker.recent('echo').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(invoker.recent('echo')[0]).toMatchObject({ requestId: 'q1', ok: true, result: { event: { n: 1 } } });
    expect(store.list('lambda:async-queue')).toEqual([]);
  });

  it('times the handler module import apart from the invocation Timeout, as Lambda times its init phase', async () => {
    dir = mkdtempSync(join(tmpdir(), 'stagecrew-slow-init-'));
    const modulePath = join(dir, 'slow-init.mjs');
    writeFileSync(
      modulePath,
      'await new Promise((r) => setTimeout(r, 1500));\nexport const handler = async () => "ready";\n',
    );
    invoker = new Invoker({ store: new MemoryStore(), log, output: () => undefined });
    invoker.register({
      name: 'slow',
      arn: 'arn',
      modulePath,
      exportName: 'handler',
      timeoutSeconds: 1,
      memoryMb: 128,
      environment: {},
    });
    await expect(invoker.invoke('slow', {})).resolves.toBe('ready');
  });

  it('reports a handler module without the named export', async () => {
    invoker = new Invoker({ store: new MemoryStore(), log, output: () => undefined });
    invoker.register({
      name: 'x',
      arn: 'arn',
      modulePath: ECHO,
      exportName: 'nope',
      timeoutSeconds: 5,
      memoryMb: 128,
      environment: {},
    });
    await expect(invoker.invoke('x', {})).rejects.toMatchObject({ errorType: 'Runtime.HandlerNotFound' });
  });

  it('keeps each function in its own environment', async () => {
    invoker = new Invoker({ store: new MemoryStore(), log, output: () => undefined });
    const spec = { arn: 'arn', modulePath: ECHO, exportName: 'handler', timeoutSeconds: 5, memoryMb: 128 };
    invoker.register({ ...spec, name: 'a', environment: { ECHO_MARK: 'A' } });
    invoker.register({ ...spec, name: 'b', environment: { ECHO_MARK: 'B' } });
    const [a, b] = (await Promise.all([invoker.invoke('a', {}), invoker.invoke('b', {})])) as Array<{
      env: { ECHO_MARK: string };
    }>;
    expect([a?.env.ECHO_MARK, b?.env.ECHO_MARK]).toEqual(['A', 'B']);
    await expect(invoker.invoke('missing', {})).rejects.toThrow(/Function not found/);
  });
});
