/**
 * Fuzzing the pipeline-events use case (functions/pipeline-events/handle.ts) over the in-memory ports of the
 * timeline tests, with the Powertools logger captured.
 *
 * Contract: an event that is not a CodePipeline state change is refused with a ValidationError (a typed error,
 * never a TypeError from deep inside) before anything is claimed or written; a valid-shaped event with hostile
 * names is processed or refused the same way, never crashes, and only writes when it was accepted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors';
import { logger } from '#core/powertools';
import type { PipelineEventOutcome } from '../../functions/pipeline-events/handle.ts';
import { handleRaw, makeWorld, testSettings, type World } from '../unit/timeline/fakes.ts';
import { fixture, fixtureNames } from '../unit/timeline/fixtures.ts';
import { anyInput, captureLogs, fuzzParams, fuzzTimeout, hostileString, mutated } from './arbitraries.ts';

const NAMES = fixtureNames().filter((n) => n !== 'invalid-arn-execution-id');
const BASES = NAMES.map((n) => fixture(n));

/** Every rule matches, so an accepted event exercises notification rendering and teardown too. */
const loudWorld = () =>
  makeWorld(
    testSettings({
      rules: [
        {
          pipeline: '*',
          states: ['*'],
          scope: ['pipeline', 'stage', 'action'],
          slackChannels: ['C-ALL'],
          emails: ['team@example.com'],
        },
      ],
    }),
  );

const writesOf = (w: World) => ({
  timeline: w.timeline.writes,
  claims: w.ledger.entries.size,
  slack: w.slack.posted.length,
  mail: w.mailer.sent.length,
  started: w.starter.started.length,
  stopped: w.starter.stopped.length,
});
const NO_WRITES = { timeline: 0, claims: 0, slack: 0, mail: 0, started: 0, stopped: 0 };

const run = async (event: unknown) => {
  const w = loudWorld();
  w.deps.logger = logger;
  let outcome: PipelineEventOutcome | undefined;
  let error: unknown;
  try {
    outcome = await handleRaw(event, w.deps);
  } catch (err) {
    error = err;
  }
  return { w, outcome, error };
};

/** A name CodePipeline could send (1–256 characters once trimmed) but carrying a hostile value. */
const name = hostileString().filter((s) => s.trim().length >= 1 && s.trim().length <= 256);

/** A fixture with hostile names (path traversal, header injection, unicode, huge) in its identifying fields. */
const hostileNames = fc
  .record({
    base: fc.constantFrom(...BASES),
    pipeline: name,
    stage: name,
    action: name,
    executionId: fc.uuid(),
    id: name,
  })
  .map(({ base, ...v }) => {
    const e = structuredClone(base);
    e.id = v.id;
    e.detail.pipeline = v.pipeline;
    e.detail['execution-id'] = v.executionId;
    if ('stage' in e.detail) e.detail.stage = v.stage;
    if ('action' in e.detail) e.detail.action = v.action;
    return e;
  });

const event = fc.oneof(
  anyInput(),
  fc.constantFrom(...BASES).chain((b) => mutated(b).map((m) => m.event)),
  hostileNames,
);

describe('pipeline-events (fuzz)', () => {
  it(
    'any input is processed or refused with a ValidationError; a refusal claims and writes nothing',
    async () => {
      const logs = captureLogs();
      const seen = { processed: 0, refused: 0 };
      try {
        await fc.assert(
          fc.asyncProperty(event, async (e) => {
            const { w, outcome, error } = await run(e);
            if (error !== undefined) seen.refused++;
            else seen.processed++;
            if (error !== undefined) {
              expect(error).toBeInstanceOf(ValidationError);
              expect((error as ValidationError).message.length).toBeGreaterThan(0);
              expect(writesOf(w)).toEqual(NO_WRITES);
              return;
            }
            expect(outcome?.status).toBe('processed');
            // A defect while notifying completes the event (so a retry does not repeat it), but is still a finding.
            expect(outcome?.status === 'processed' && outcome.notification).not.toMatchObject({ status: 'failed' });
            // Processed exactly once: the event's claim is completed, one timeline record written at most.
            expect(w.timeline.writes).toBeLessThanOrEqual(1);
            expect(w.ledger.entries.size).toBe(1);
            expect([...w.ledger.entries.values()][0]?.status).toBe('DONE');
          }),
          fuzzParams(),
        );
        // Both branches were exercised (the generators are not all rejected, nor all accepted).
        expect(seen.processed).toBeGreaterThan(0);
        expect(seen.refused).toBeGreaterThan(0);
        expect(logs.text()).toContain('transition recorded');
      } finally {
        logs.restore();
      }
    },
    fuzzTimeout(5),
  );

  it(
    'a redelivered copy of any accepted event is a duplicate and writes nothing more',
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileNames, async (e) => {
          const { w, outcome } = await run(e);
          fc.pre(outcome !== undefined);
          const before = writesOf(w);
          const again = await handleRaw(structuredClone(e), w.deps);
          expect(again).toMatchObject({ status: 'duplicate', reason: 'done' });
          expect(writesOf(w)).toEqual(before);
        }),
        fuzzParams(),
      );
    },
    fuzzTimeout(5),
  );
});
