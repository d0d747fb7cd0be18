import { describe, expect, it } from 'vitest';
import { decideJob } from '../../../../functions/core/jobs/runner.ts';
import { makeJob, T0, world } from '../fakes.ts';

const API = 'https://api.test.example/health';
const WEB = 'https://www.test.example/';

const continueWith = (report: Awaited<ReturnType<typeof decideJob>>['report']) =>
  report.kind === 'continuation' ? report.continuationToken : '';

describe('http-check', () => {
  it('passes when every URL answers as expected and reports timings', async () => {
    const w = world();
    w.http.answers.set(API, [{ status: 200, body: '{"status":"ok","db":{"up":true}}', ms: 35 }]);
    // Probes run concurrently and the fake clock is shared: WEB answers instantly so API's 35 ms stay exact.
    w.http.answers.set(WEB, [{ status: 200, body: '<h1>Welcome</h1>', ms: 0 }]);
    const { report } = await decideJob(
      makeJob({
        task: 'http-check',
        urls: [
          { url: API, json: { path: '$.db.up', equals: true } },
          { url: WEB, bodyContains: 'Welcome' },
        ],
      }),
      w.deps,
      1e5,
    );
    expect(report).toEqual({
      kind: 'success',
      jobId: expect.any(String),
      externalExecutionId: expect.any(String),
      summary: `2/2 URL(s) healthy after 1 round(s); slowest 35 ms: ${API} 35 ms; ${WEB} 0 ms`,
      outputVariables: {
        UrlsChecked: '2',
        MaxLatencyMs: '35',
        Rounds: '1',
        Timings: JSON.stringify([
          { url: API, ms: 35 },
          { url: WEB, ms: 0 },
        ]),
      },
    });
  });

  it.each([
    [{ status: 503 }, {}, `HTTP 503 (expected 200)`],
    [{ status: 200, body: 'maintenance' }, { bodyContains: 'Welcome' }, 'body does not contain "Welcome"'],
    [{ status: 200, body: 'not json' }, { json: { path: 'status', equals: 'ok' } }, 'body is not JSON'],
    [
      { status: 200, body: '{"status":"degraded"}' },
      { json: { path: '$.status', equals: 'ok' } },
      '$.status is "degraded" (expected "ok")',
    ],
    [{ status: 200, body: '{"items":[]}' }, { json: { path: 'items[0].id' } }, 'items[0].id is missing'],
    [{ status: 200, ms: 900 }, { maxLatencyMs: 500 }, 'took 900 ms (max 500 ms)'],
    [{ status: 302 }, { expectStatus: [200, 204] }, 'HTTP 302 (expected 200 or 204)'],
  ])('fails the check on %o with %o', async (answer, check, reason) => {
    const w = world();
    w.http.answers.set(API, [answer]);
    const { report } = await decideJob(
      makeJob({ task: 'http-check', urls: [API], ...check, timeoutMinutes: 1, intervalSeconds: 30 }),
      w.deps,
      1e5,
    );
    expect(report).toMatchObject({ kind: 'failure', type: 'JobFailed' });
    expect(report.kind === 'failure' && report.message).toContain(`${API}: ${reason}`);
  });

  it('retries failing URLs within the invocation, keeping URLs that passed', async () => {
    const w = world();
    w.http.answers.set(API, [{ status: 503 }, { status: 503 }, { status: 200, ms: 40 }]);
    w.http.answers.set(WEB, [{ status: 200, ms: 10 }]);
    const { report } = await decideJob(
      makeJob({ task: 'http-check', urls: [API, WEB], intervalSeconds: 5 }),
      w.deps,
      1e5,
    );
    expect(report).toMatchObject({ kind: 'success', outputVariables: { Rounds: '3', MaxLatencyMs: '40' } });
    expect(w.http.calls).toEqual([API, WEB, API, API]);
    expect(w.clock.sleeps).toEqual([5000, 5000]);
  });

  it('continues across invocations when the budget runs out, then fails at the deadline with the reasons', async () => {
    const w = world({ maxInvocationMs: 30_000 });
    w.http.answers.set(API, [{ status: 502 }]);
    w.http.answers.set(WEB, [{ status: 200, ms: 15 }]);
    const params = { task: 'http-check', urls: [API, WEB], intervalSeconds: 10, timeoutMinutes: 2 };
    const first = (await decideJob(makeJob(params), w.deps, 1e5)).report;
    expect(first).toMatchObject({ kind: 'continuation', percentComplete: 50 });
    expect(first.kind === 'continuation' && first.summary).toBe(
      `1/2 URL(s) healthy after 3 round(s); failing: ${API}: HTTP 502 (expected 200)`,
    );
    const token = JSON.parse(continueWith(first));
    expect(token).toMatchObject({ v: 1, task: 'http-check', s: { l: [-1, 15], r: 3 } });

    w.clock.t = T0 + 60_000;
    const second = (await decideJob(makeJob(params, { continuationToken: continueWith(first) }), w.deps, 1e5)).report;
    expect(second.kind).toBe('continuation');
    // WEB passed in the first invocation: only API is probed again.
    expect(w.http.calls.slice(4)).toEqual([API, API, API]);

    w.clock.t = T0 + 100_000;
    const third = (await decideJob(makeJob(params, { continuationToken: continueWith(second) }), w.deps, 1e5)).report;
    expect(third).toMatchObject({ kind: 'failure', type: 'JobFailed' });
    expect(third.kind === 'failure' && third.message).toMatch(
      /^timed out after 2 min: 1\/2 URL\(s\) healthy after \d+ round\(s\); failing: https:\/\/api/,
    );
  });

  it('treats network errors and timeouts as a failing check, not a system failure', async () => {
    const w = world();
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    w.http.answers.set(API, [timeout]);
    w.http.answers.set(WEB, [
      new TypeError('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND www.test.example') }),
    ]);
    const { report } = await decideJob(
      makeJob({ task: 'http-check', urls: [API, WEB], timeoutMinutes: 1, intervalSeconds: 60, requestTimeoutMs: 2000 }),
      w.deps,
      1e5,
    );
    expect(report).toMatchObject({ kind: 'failure', type: 'JobFailed' });
    expect(report.kind === 'failure' && report.message).toContain(`${API}: no response within 2000 ms`);
    expect(report.kind === 'failure' && report.message).toContain(
      `${WEB}: request failed: fetch failed (getaddrinfo ENOTFOUND www.test.example)`,
    );
  });

  it('reads the URL list from an input artifact file (JSON or one URL per line)', async () => {
    const w = world();
    w.artifacts.files.set('BuildOutput:smoke/urls.json', JSON.stringify([API, { url: WEB, expectStatus: 204 }]));
    w.artifacts.files.set('*:urls.txt', `# smoke targets\n${API}\n\n${WEB}\n`);
    w.http.answers.set(API, [{ status: 200 }]);
    w.http.answers.set(WEB, [{ status: 204 }]);
    const fromJson = await decideJob(
      makeJob({ task: 'http-check', urlsFile: { artifact: 'BuildOutput', path: 'smoke/urls.json' } }),
      w.deps,
      1e5,
    );
    expect(fromJson.report).toMatchObject({ kind: 'success', outputVariables: { UrlsChecked: '2' } });
    const fromText = await decideJob(
      makeJob({ task: 'http-check', urlsFile: 'urls.txt', expectStatus: [200, 204] }),
      w.deps,
      1e5,
    );
    expect(fromText.report).toMatchObject({ kind: 'success', outputVariables: { UrlsChecked: '2' } });
  });

  it('names the bad entry of a URL file', async () => {
    const w = world();
    w.artifacts.files.set('*:urls.json', JSON.stringify([API, 'not a url']));
    const { report } = await decideJob(makeJob({ task: 'http-check', urlsFile: 'urls.json' }), w.deps, 1e5);
    expect(report).toMatchObject({ kind: 'failure', type: 'ConfigurationError' });
    expect(report.kind === 'failure' && report.message).toMatch(/^urlsFile\(urls\.json\)\[1\]: /);
  });

  it('needs exactly one of urls and urlsFile', async () => {
    const w = world();
    const none = await decideJob(makeJob({ task: 'http-check' }), w.deps, 1e5);
    expect(none.report.kind === 'failure' && none.report.message).toBe('urls: give exactly one of urls or urlsFile');
    const both = await decideJob(makeJob({ task: 'http-check', urls: [API], urlsFile: 'u.txt' }), w.deps, 1e5);
    expect(both.report.kind === 'failure' && both.report.type).toBe('ConfigurationError');
  });

  it('keeps the continuation token under 2048 characters for the largest URL file', async () => {
    const w = world({ maxInvocationMs: 1000 });
    const urls = Array.from({ length: 200 }, (_, i) => `https://svc${i}.test.example/health`);
    w.artifacts.files.set('*:urls.txt', urls.join('\n'));
    // Slow answers on a shared fake clock make the largest timings (the task caps each at 5 digits).
    for (const u of urls) w.http.answers.set(u, [{ status: 200, ms: 30_000 }]);
    w.http.answers.set(urls[7] ?? '', [{ status: 500 }]);
    const { report } = await decideJob(
      makeJob({ task: 'http-check', urlsFile: 'urls.txt', timeoutMinutes: 1430 }),
      w.deps,
      1e5,
    );
    expect(report.kind).toBe('continuation');
    const token = continueWith(report);
    expect(JSON.parse(token).s.l.filter((l: number) => l === 99_999).length).toBeGreaterThan(100);
    expect(token.length).toBeLessThanOrEqual(2048);
  });
});
