import * as z from '../../schemas/zod.ts';
import { JobConfigurationError } from '../errors.ts';
import { jsonEquals, lookup, parseJsonPath } from '../json-path.ts';
import { pollWithin } from '../polling.ts';
import { defineTask, type TaskContext } from '../task.ts';
import { parseOptions } from '../user-parameters.ts';

/**
 * `http-check`: smoke-test one or more URLs. Each URL must answer with an expected status, and optionally
 * contain a substring, carry a JSON value at a path, and answer within a latency budget. Failing URLs are retried
 * every `intervalSeconds` until `timeoutMinutes` (through continuation tokens when that outlasts one
 * invocation); a URL that passed once stays passed. Timings are reported in the summary and output variables.
 *
 * ```json
 * {"task":"http-check","urls":["#{TestStack.ApiUrl}/health"],"expectStatus":200,
 *  "json":{"path":"$.status","equals":"ok"},"maxLatencyMs":800,"timeoutMinutes":5}
 * ```
 * Long URL lists live in an input artifact: `{"task":"http-check","urlsFile":{"artifact":"BuildOutput","path":"smoke/urls.json"}}`
 * (a JSON array of URLs or check objects, or plain text with one URL per line).
 */
const Url = z.string().check(
  z.maxLength(2048),
  z.refine((u) => {
    try {
      const p = new URL(u).protocol;
      return p === 'http:' || p === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL'),
);

const Status = z.int().check(z.minimum(100), z.maximum(599));
const Expect = z.pipe(
  z.union([Status, z.array(Status).check(z.minLength(1), z.maxLength(20))]),
  z.transform((s) => (Array.isArray(s) ? s : [s])),
);
const JsonCheck = z.object({
  path: z
    .string()
    .check(z.refine((p) => parseJsonPath(p) !== undefined, 'must be a path such as $.status or data.items[0].state')),
  /** Any JSON value; when omitted the path only has to exist. */
  equals: z.optional(z.unknown()),
});

const Check = z.strictObject({
  url: Url,
  method: z._default(z.enum(['GET', 'HEAD', 'POST']), 'GET'),
  headers: z.optional(z.record(z.string(), z.string())),
  body: z.optional(z.string().check(z.maxLength(4096))),
  expectStatus: z.optional(Expect),
  bodyContains: z.optional(z.string().check(z.minLength(1))),
  json: z.optional(JsonCheck),
  maxLatencyMs: z.optional(z.int().check(z.minimum(1))),
});

const Target = z.union([
  z.pipe(
    Url,
    z.transform((url) => Check.parse({ url })),
  ),
  Check,
]);
type Target = z.output<typeof Check>;

const FileRef = z.union([
  z.pipe(
    z.string().check(z.minLength(1)),
    z.transform((path) => ({ artifact: undefined as string | undefined, path })),
  ),
  z.strictObject({ artifact: z.optional(z.string().check(z.minLength(1))), path: z.string().check(z.minLength(1)) }),
]);

const Options = z
  .strictObject({
    urls: z.optional(z.array(Target).check(z.minLength(1), z.maxLength(50))),
    urlsFile: z.optional(FileRef),
    expectStatus: z._default(Expect, [200]),
    bodyContains: z.optional(z.string().check(z.minLength(1))),
    json: z.optional(JsonCheck),
    maxLatencyMs: z.optional(z.int().check(z.minimum(1))),
    requestTimeoutMs: z._default(z.int().check(z.minimum(100), z.maximum(30_000)), 5_000),
    intervalSeconds: z._default(z.int().check(z.minimum(1), z.maximum(300)), 10),
    timeoutMinutes: z._default(z.int().check(z.minimum(1), z.maximum(1430)), 10),
  })
  .check(
    z.refine((o) => (o.urls === undefined) !== (o.urlsFile === undefined), {
      message: 'give exactly one of urls or urlsFile',
      path: ['urls'],
    }),
  );
type Options = z.output<typeof Options>;

/** `l[i]`: latency in ms of URL i once it passed, -1 while it has not. `r`: rounds so far. */
const HttpCheckState = z.object({ l: z.array(z.int()), r: z.int().check(z.nonnegative()) });
type HttpCheckState = z.output<typeof HttpCheckState>;

/** At most this many URLs from a file: their timings must fit the 2048-character continuation token. */
export const MAX_FILE_URLS = 200;

const parseUrlFile = (text: string): Target[] => {
  const trimmed = text.trim();
  let raw: unknown;
  if (trimmed.startsWith('[')) {
    try {
      raw = JSON.parse(trimmed);
    } catch (cause) {
      throw new JobConfigurationError('urlsFile', `file is not valid JSON (${(cause as Error).message})`, { cause });
    }
  } else {
    raw = trimmed
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
  }
  const list = parseOptions(z.array(Target).check(z.minLength(1), z.maxLength(MAX_FILE_URLS)), raw);
  return list;
};

const loadTargets = async (o: Options, ctx: TaskContext): Promise<Target[]> => {
  if (o.urls) return o.urls;
  const ref = o.urlsFile as { artifact?: string; path: string };
  const text = await ctx.artifacts.readText(ref.artifact, ref.path, 'urlsFile');
  try {
    return parseUrlFile(text);
  } catch (err) {
    if (err instanceof JobConfigurationError && err.field !== 'urlsFile') {
      throw new JobConfigurationError(
        `urlsFile(${ref.path})${err.field.startsWith('[') ? '' : '.'}${err.field}`,
        err.message.slice(err.field.length + 2),
      );
    }
    throw err;
  }
};

type Probe = { ok: true; ms: number; status: number } | { ok: false; reason: string };

const describeValue = (v: unknown) => {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 80 ? `${s.slice(0, 79)}…` : s;
};

export const probe = async (t: Target, o: Options, ctx: TaskContext): Promise<Probe> => {
  const expect = t.expectStatus ?? o.expectStatus;
  const contains = t.bodyContains ?? o.bodyContains;
  const json = t.json ?? o.json;
  const maxLatency = t.maxLatencyMs ?? o.maxLatencyMs;
  const started = ctx.now();
  let status: number;
  let body: string;
  try {
    const res = await ctx.fetch(t.url, {
      method: t.method,
      ...(t.headers ? { headers: t.headers } : {}),
      ...(t.body !== undefined && t.method === 'POST' ? { body: t.body } : {}),
      redirect: 'follow',
      signal: AbortSignal.timeout(o.requestTimeoutMs),
    });
    status = res.status;
    body = t.method === 'HEAD' ? '' : await res.text();
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    if (name === 'TimeoutError' || name === 'AbortError')
      return { ok: false, reason: `no response within ${o.requestTimeoutMs} ms` };
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return { ok: false, reason: `request failed: ${err instanceof Error ? err.message : String(err)}${cause}` };
  }
  const ms = Math.max(0, ctx.now() - started);
  if (!expect.includes(status)) return { ok: false, reason: `HTTP ${status} (expected ${expect.join(' or ')})` };
  if (contains !== undefined && !body.includes(contains))
    return { ok: false, reason: `body does not contain ${describeValue(contains)}` };
  if (json !== undefined) {
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      return { ok: false, reason: 'body is not JSON' };
    }
    const found = lookup(doc, parseJsonPath(json.path) ?? []);
    if (!found.found) return { ok: false, reason: `${json.path} is missing` };
    if (json.equals !== undefined && !jsonEquals(found.value, json.equals)) {
      return {
        ok: false,
        reason: `${json.path} is ${describeValue(found.value)} (expected ${describeValue(json.equals)})`,
      };
    }
  }
  if (maxLatency !== undefined && ms > maxLatency) return { ok: false, reason: `took ${ms} ms (max ${maxLatency} ms)` };
  return { ok: true, ms, status };
};

/** Runs `fn` over `items` with at most `limit` at a time. */
const mapLimit = async <T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> => {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
};

export const httpCheck = defineTask({
  name: 'http-check',
  description: 'smoke-test URLs: status, body, JSON value and latency, retried until a deadline',
  options: Options,
  state: HttpCheckState,
  timeoutMs: (o) => o.timeoutMinutes * 60_000,
  async run(o, state, ctx) {
    const targets = await loadTargets(o, ctx);
    const latency = state && state.l.length === targets.length ? [...state.l] : targets.map(() => -1);
    let rounds = state?.r ?? 0;
    const last = new Map<number, string>();
    return pollWithin<HttpCheckState>(ctx, o.intervalSeconds * 1000, async () => {
      const pending = targets.map((t, i) => ({ t, i })).filter(({ i }) => (latency[i] ?? -1) < 0);
      const results = await mapLimit(pending, 8, ({ t }) => probe(t, o, ctx));
      rounds++;
      results.forEach((r, k) => {
        const i = pending[k]?.i ?? 0;
        if (r.ok) {
          // Bounded so 200 timings always fit the continuation token (requests time out long before this).
          latency[i] = Math.min(r.ms, 99_999);
          last.delete(i);
        } else last.set(i, r.reason);
      });
      const passed = latency.filter((l) => l >= 0).length;
      if (passed === targets.length) {
        const slowest = latency.reduce((m, l, i) => (l > (latency[m] ?? -1) ? i : m), 0);
        const timings = targets.map((t, i) => `${t.url} ${latency[i]} ms`).join('; ');
        return {
          done: {
            status: 'succeeded',
            summary: `${passed}/${targets.length} URL(s) healthy after ${rounds} round(s); slowest ${latency[slowest]} ms: ${timings}`,
            outputVariables: {
              UrlsChecked: String(targets.length),
              MaxLatencyMs: String(latency[slowest] ?? 0),
              Rounds: String(rounds),
              Timings: JSON.stringify(targets.map((t, i) => ({ url: t.url, ms: latency[i] }))),
            },
          },
        };
      }
      const failing = [...last.entries()].map(([i, reason]) => `${targets[i]?.url}: ${reason}`).join('; ');
      return {
        waiting: `${passed}/${targets.length} URL(s) healthy after ${rounds} round(s); failing: ${failing}`,
        state: { l: latency, r: rounds },
        percentComplete: (passed / targets.length) * 100,
      };
    });
  },
});
