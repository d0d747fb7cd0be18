/**
 * Fuzzing the teardown task dispatcher (functions/core/teardown/dispatch.ts, every step of the teardown state
 * machine) and the stack-events listener (functions/core/teardown/stack-events.ts) over the in-memory world of
 * the workflow tests.
 *
 * Contract: a malformed or forged step event is refused with a named error, never a crash from deep inside;
 * and, whatever the state claims (hostile names, ids, modes, client request tokens), DeleteStack is never called
 * on a stack that is not tagged for the run the state names (the confused-deputy property). The listener only
 * ever resumes task tokens that a teardown stored for that stack.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TaskTokenSink } from '#core/teardown/ports';
import { handleStackEvent, parseStackStatusChange } from '#core/teardown/stack-events';
import deleteComplete from '../../events/cloudformation-stack-delete-complete.json' with { type: 'json' };
import {
  depsFor,
  dispatchRaw,
  EXECUTION,
  newWorld,
  OTHER_EXECUTION,
  ownerTags,
  PIPELINE,
  stackArn,
} from '../workflow/harness.ts';
import { anyInput, fuzzParams, fuzzTimeout, hostileString, mutated, wrongValue } from './arbitraries.ts';

const ACTIONS = [
  'start',
  'check-execution',
  'discover',
  'inspect',
  'delete',
  'await',
  'conclude',
  'diagnose',
  'remediate',
  'record',
  'finish',
] as const;

/** Stacks nobody may delete for the run (pipeline `app`, execution EXECUTION) a forged state claims. */
const NOT_OURS = {
  untagged: {},
  otherExecution: ownerTags(OTHER_EXECUTION),
  otherPipeline: ownerTags(EXECUTION, 'someone-else'),
  notManaged: { ...ownerTags(), 'stagecrew:managed': 'false' },
  partial: { 'stagecrew:execution-id': EXECUTION },
};

const worldWithForeignStacks = () => {
  const w = newWorld();
  for (const [name, tags] of Object.entries(NOT_OURS)) w.cloud.add({ stackName: `foreign-${name}`, tags });
  return w;
};

const foreignIds = Object.keys(NOT_OURS).map((n) => stackArn(`foreign-${n}`));

/** A valid-shaped item for run (app, EXECUTION) pointing at a foreign stack, with hostile extras. */
const forgedItem = fc.record({
  runId: hostileString(),
  pipeline: fc.oneof(fc.constant(PIPELINE), hostileString()),
  executionId: fc.oneof(fc.constant(EXECUTION), hostileString()),
  reason: fc.constantFrom('FAILED', 'STOPPED', 'CANCELED', 'SUPERSEDED', 'SUCCEEDED', 'EXPIRED', 'MANUAL'),
  dryRun: fc.constant(false),
  policy: fc.record({
    onDeleteFailed: fc.constantFrom('report', 'retain', 'force'),
    deleteAttempts: fc.integer({ min: 1, max: 5 }),
    remediate: fc.boolean(),
    // Mostly plausible; sometimes over the settings' cap, up to 2^53 − 1 (refused by the state schema).
    deleteTimeoutMinutes: fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: 120 }), weight: 4 },
      { arbitrary: fc.integer({ min: 1441, max: Number.MAX_SAFE_INTEGER }), weight: 1 },
    ),
    // No allow rules: a forged rule list is the state machine input's business (see docs/SECURITY.md).
    allowRules: fc.constant([]),
  }),
  stackId: fc.oneof(fc.constantFrom(...foreignIds), hostileString()),
  stackName: fc.option(
    fc.oneof(fc.constantFrom(...Object.keys(NOT_OURS).map((n) => `foreign-${n}`)), hostileString()),
    {
      nil: undefined,
    },
  ),
  source: fc.constantFrom('registration', 'action', 'sweep'),
  resolved: fc.boolean(),
  attempt: fc.nat({ max: 5 }),
  mode: fc.constantFrom('STANDARD', 'RETAIN', 'FORCE'),
  clientRequestToken: fc.option(hostileString(), { nil: undefined }),
  next: fc.option(fc.constantFrom('delete', 'await', 'stabilise', 'diagnose', 'remediate', 'record'), {
    nil: undefined,
  }),
  orphans: fc.constant([]),
});

const stepEvent = fc
  .record({
    action: fc.constantFrom(...ACTIONS),
    item: forgedItem,
    observed: fc.option(
      fc.record({ status: fc.oneof(fc.constantFrom('DELETE_FAILED', 'DELETE_COMPLETE'), hostileString()) }),
      {
        nil: undefined,
      },
    ),
    taskToken: fc.oneof(fc.constant('task-token-1'), hostileString()),
  })
  .map(({ action, item, observed, taskToken }) => ({
    action,
    state: { item, ...(observed ? { observed } : {}) },
    request: { runId: item.runId, pipeline: item.pipeline, executionId: item.executionId },
    taskToken,
    input: { pipeline: item.pipeline, executionId: item.executionId, reason: item.reason },
    executionName: item.runId || 'x',
  }));

const anyStepEvent = fc.oneof(
  anyInput(),
  stepEvent,
  stepEvent.chain((e) => mutated(e).map((m) => m.event)),
  fc.record({
    action: fc.oneof(fc.constantFrom(...ACTIONS), hostileString()),
    state: wrongValue(),
    request: wrongValue(),
  }),
);

describe('teardown task (fuzz)', () => {
  it(
    'no forged or malformed step event ever deletes a stack that is not tagged for its run',
    async () => {
      await fc.assert(
        fc.asyncProperty(anyStepEvent, async (event) => {
          const w = worldWithForeignStacks();
          try {
            await dispatchRaw(event, depsFor(w));
          } catch (err) {
            // Refusals are named errors (Step Functions' Catch matches on the name), never bare crashes.
            expect(err).toBeInstanceOf(Error);
            expect((err as Error).name).toMatch(/Error$/);
            expect((err as Error).name).not.toMatch(/^(TypeError|RangeError|ReferenceError|SyntaxError|URIError)$/);
          }
          expect(w.cloud.deletes).toEqual([]);
          expect(w.emptied).toEqual([]);
          expect(w.imagesDeleted).toEqual([]);
        }),
        fuzzParams(),
      );
    },
    fuzzTimeout(10),
  );
});

describe('stack-events listener (fuzz)', () => {
  const setup = async () => {
    const w = newWorld();
    const sent: string[] = [];
    const tasks: TaskTokenSink = {
      succeed: async (token) => {
        sent.push(token);
        return 'reported';
      },
      fail: async () => 'reported',
    };
    await w.store.putWait({
      stackId: deleteComplete.detail['stack-id'],
      clientRequestToken: deleteComplete.detail['client-request-token'],
      taskToken: 'tok-stored',
      runId: 'r',
      createdAt: '',
      expiresAt: 0,
    });
    return { w, sent, tasks };
  };

  it(
    'any event is ignored, resumes only stored tokens, or is refused with a ValidationError',
    async () => {
      const event = fc.oneof(
        anyInput(),
        mutated(deleteComplete).map((m) => m.event),
        fc
          .record({ stackId: hostileString(), crt: hostileString(), status: hostileString() })
          .map(({ stackId, crt, status }) => {
            const e = structuredClone(deleteComplete);
            e.detail['stack-id'] = stackId;
            e.detail['client-request-token'] = crt;
            e.detail['status-details'].status = status;
            return e;
          }),
      );
      await fc.assert(
        fc.asyncProperty(event, async (e) => {
          const { w, sent, tasks } = await setup();
          try {
            const outcome = await handleStackEvent(parseStackStatusChange(e), {
              store: w.store,
              tasks,
              // A fresh DescribeStacks agrees with whatever the event says.
              stacks: {
                describe: async (id) => ({
                  stackId: id,
                  stackName: 's',
                  status: String((e as typeof deleteComplete).detail?.['status-details']?.status),
                  tags: {},
                  terminationProtection: false,
                }),
              },
            });
            expect(['ignored', 'resumed']).toContain(outcome.status);
          } catch (err) {
            expect((err as Error).name).toBe('ValidationError');
          }
          // Only the token a teardown stored can be resumed, and only by an event for its stack.
          for (const token of sent) expect(token).toBe('tok-stored');
          if (sent.length > 0) {
            expect((e as typeof deleteComplete).detail['stack-id']).toBe(deleteComplete.detail['stack-id']);
          }
        }),
        fuzzParams(),
      );
    },
    fuzzTimeout(5),
  );
});
