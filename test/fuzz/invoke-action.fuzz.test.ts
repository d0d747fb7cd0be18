/**
 * Fuzzing the invoke-action handler as deployed (functions/invoke-action/handler.ts `makeInvokeActionHandler`:
 * the house middlewares, the real Powertools logger, idempotency) over in-memory ports.
 *
 * Contract under test (functions/core/jobs/job-handler.ts): for anything that is not a job event it returns
 * `not-a-job` and calls nothing; for anything carrying a job id it reports exactly one result, never throws,
 * never touches a stack or the teardown registry when the input is invalid, and never writes the artifact
 * credentials anywhere.
 */
import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobHandlerDeps, JobHandlerResult } from '#core/jobs/job-handler';
import { LIMITS } from '#core/jobs/limits';
import { TASKS } from '#core/jobs/registry';
import { MemoryPersistenceLayer, T0, world } from '../unit/jobs/fakes.ts';
import {
  anyInput,
  captureLogs,
  fuzzParams,
  fuzzTimeout,
  hostileString,
  lambdaContext,
  malformedJson,
  mutated,
  secretMarker,
  wrongValue,
} from './arbitraries.ts';

let makeHandler: (deps: JobHandlerDeps) => (event: unknown, context: Context) => Promise<JobHandlerResult>;

const consoleWarn = console.warn;

beforeAll(async () => {
  // The metrics middleware warns once per invocation that a skipped job published no metric: thousands of
  // identical lines that would bury the CI log. Everything else still goes through.
  vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('No application metrics to publish')) return;
    consoleWarn(...args);
  });
  vi.stubEnv('STATE_TABLE_NAME', 'stagecrew-fuzz');
  ({ makeInvokeActionHandler: makeHandler } = await import('../../functions/invoke-action/handler.ts'));
});
afterAll(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

type Secrets = { secretAccessKey: string; sessionToken: string };
const secrets: fc.Arbitrary<Secrets> = fc.record({
  secretAccessKey: secretMarker('SAK'),
  sessionToken: secretMarker('STK'),
});

// CodePipeline's job ids are UUIDs; hostile ones include ids longer than the API's 1500-character
// externalExecutionId, which every report must cut.
const jobId = fc.oneof(
  fc.uuid(),
  hostileString().filter((s) => s.length > 0),
  fc.string({ minLength: LIMITS.externalExecutionId + 1, maxLength: 5000 }),
);

/** UserParameters: valid-shaped task options with hostile values, wrong JSON, or oversized text. */
const userParameters: fc.Arbitrary<string | undefined> = fc.oneof(
  fc
    .record(
      {
        task: fc.oneof(fc.constantFrom(...Object.keys(TASKS)), hostileString()),
        stackName: hostileString(),
        pipeline: hostileString(),
        executionId: hostileString(),
        urls: fc.array(fc.oneof(hostileString(), fc.webUrl()), { maxLength: 3 }),
        expectStatus: wrongValue(),
        timeoutMinutes: wrongValue(),
        outputs: wrongValue(),
      },
      { requiredKeys: ['task'] },
    )
    .map((o) => JSON.stringify(o)),
  fc.dictionary(hostileString(), wrongValue(), { maxKeys: 4 }).map((o) => JSON.stringify(o)),
  malformedJson(),
  hostileString(),
  // Oversized: more than CodePipeline's 1000 characters, up to 100 kB.
  fc
    .integer({ min: LIMITS.userParameters + 1, max: 100_000 })
    .map((n) => JSON.stringify({ task: 'gate', pad: 'x'.repeat(n) })),
  fc.constant(undefined),
);

const jobEvent = (id: string, up: string | undefined, s: Secrets, extra: Record<string, unknown> = {}) => ({
  'CodePipeline.job': {
    id,
    accountId: '111111111111',
    data: {
      actionConfiguration: {
        configuration: { FunctionName: 'stagecrew-invoke-action', ...(up === undefined ? {} : { UserParameters: up }) },
      },
      inputArtifacts: [],
      outputArtifacts: [],
      artifactCredentials: {
        accessKeyId: 'ASIAFUZZACCESSKEY000',
        secretAccessKey: s.secretAccessKey,
        sessionToken: s.sessionToken,
        expirationTime: T0 + 3_600_000,
      },
      ...extra,
    },
  },
});

/** A job-shaped event: hostile UserParameters, forged continuation tokens, then 0–3 field mutations. */
const jobShaped = fc
  .record({
    id: jobId,
    up: userParameters,
    s: secrets,
    continuation: fc.option(
      fc.oneof(
        hostileString(),
        fc.jsonValue().map((v) => JSON.stringify(v)),
      ),
      { nil: undefined },
    ),
    mutate: fc.boolean(),
  })
  .chain(({ id, up, s, continuation, mutate }) => {
    const base = jobEvent(id, up, s, continuation === undefined ? {} : { continuationToken: continuation });
    const events = mutate ? mutated(base).map((m) => m.event) : fc.constant(base);
    return events.map((event) => ({ event, s }));
  });

const setup = () => {
  const w = world();
  const deps: JobHandlerDeps = {
    ...w.deps,
    // The handler's own logger (Powertools, captured) instead of the fakes' silent one.
    log: undefined as unknown as JobHandlerDeps['log'],
    idempotency: {
      persistenceStore: new MemoryPersistenceLayer(),
      config: new IdempotencyConfig({ eventKeyJmesPath: 'jobId', throwOnNoIdempotencyKey: true }),
    },
  };
  return { w, deps };
};

const run = async (event: unknown) => {
  const { w, deps } = setup();
  const { logger } = await import('#core/powertools');
  const handler = makeHandler({ ...deps, log: logger });
  const result = await handler(event, lambdaContext() as Context);
  return { w, result };
};

const hasJobId = (event: unknown): boolean => {
  const job = (event as Record<string, unknown> | null | undefined)?.['CodePipeline.job'];
  const id = (job as Record<string, unknown> | null | undefined)?.id;
  // An array with an `id` property cannot come out of JSON (Lambda's events are JSON): not a job.
  return typeof job === 'object' && job !== null && !Array.isArray(job) && typeof id === 'string' && id.length > 0;
};

describe('invoke-action handler (fuzz)', () => {
  it(
    'anything that is not a job event is skipped without a single call',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          anyInput().filter((e) => !hasJobId(e)),
          async (event) => {
            const { w, result } = await run(event);
            expect(result).toEqual({ skipped: 'not-a-job' });
            expect(w.reporter.calls).toEqual([]);
            expect(w.stacks.updates).toEqual([]);
            expect(w.teardown.registrations).toEqual([]);
          },
        ),
        fuzzParams(),
      );
    },
    fuzzTimeout(5),
  );

  it(
    'a job-shaped event always ends in exactly one report and never throws',
    async () => {
      await fc.assert(
        fc.asyncProperty(jobShaped, async ({ event }) => {
          const { w, result } = await run(event);
          if ('skipped' in result) {
            // Only an event whose job id was mutated away may be skipped.
            expect(hasJobId(event)).toBe(false);
            expect(w.reporter.calls).toEqual([]);
            return;
          }
          expect(w.reporter.calls).toHaveLength(1);
          const report = w.reporter.calls[0];
          expect(report?.jobId).toBe(result.jobId);
          if (report?.kind === 'failure') {
            expect(report.message.length).toBeGreaterThan(0);
            expect(report.message.length).toBeLessThanOrEqual(LIMITS.failureMessage);
          }
          expect(report?.externalExecutionId.length).toBeGreaterThan(0);
          expect(report?.externalExecutionId.length).toBeLessThanOrEqual(LIMITS.externalExecutionId);
        }),
        fuzzParams(),
      );
    },
    fuzzTimeout(10),
  );

  it(
    'invalid UserParameters (malformed, wrong types, oversized) fail the job with no stack or teardown write',
    async () => {
      const invalid = fc.oneof(
        malformedJson(),
        fc
          .integer({ min: LIMITS.userParameters + 1, max: 100_000 })
          .map((n) => `{"task":"gate","p":"${'a'.repeat(n)}"}`),
        fc
          .jsonValue()
          .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
          .map((v) => JSON.stringify(v)),
        hostileString()
          .filter((t) => !Object.hasOwn(TASKS, t))
          .map((task) => JSON.stringify({ task })),
        fc.constant(undefined),
      );
      await fc.assert(
        fc.asyncProperty(fc.uuid(), invalid, secrets, async (id, up, s) => {
          const { w, result } = await run(jobEvent(id, up, s));
          expect(result).toMatchObject({ jobId: id, kind: 'failure', failureType: 'ConfigurationError' });
          expect(w.reporter.calls).toHaveLength(1);
          expect(w.stacks.updates).toEqual([]);
          expect(w.stacks.describes).toEqual([]);
          expect(w.teardown.registrations).toEqual([]);
          expect(w.http.calls).toEqual([]);
        }),
        fuzzParams(),
      );
    },
    fuzzTimeout(5),
  );

  it(
    'the artifact credentials never reach a log line, a report or the result',
    async () => {
      const logs = captureLogs();
      try {
        await fc.assert(
          fc.asyncProperty(jobShaped, async ({ event, s }) => {
            logs.clear();
            const { w, result } = await run(event);
            const everything = `${logs.text()}\n${JSON.stringify(w.reporter.calls)}\n${JSON.stringify(result)}`;
            expect(everything).not.toContain(s.secretAccessKey);
            expect(everything).not.toContain(s.sessionToken);
          }),
          fuzzParams(),
        );
        // The capture is live: the handler did log (so an empty capture cannot pass this silently).
        await run(
          jobEvent('11111111-abcd-1111-abcd-000000000001', '{"task":"gate"}', {
            secretAccessKey: 'SAKprobe',
            sessionToken: 'STKprobe',
          }),
        );
        expect(logs.text()).toContain('job reported');
      } finally {
        logs.restore();
      }
    },
    fuzzTimeout(10),
  );
});
