/**
 * Fuzzing the approval-request use case (functions/core/approvals/request.ts `handleRequestEvent`, behind the
 * handler's `RequestFunctionEvent` schema) with SNS approval notifications carrying hostile values.
 *
 * Contract: a message that is not a CodePipeline approval is refused with a ValidationError before anything is
 * stored or sent; an accepted one never puts the CodePipeline approval token into a Slack message or an email,
 * never lets a value of the message inject markup into the email, and keeps the email subject on one line.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { handleRequestEvent, type RequestDeps } from '#core/approvals/request';
import { RequestFunctionEvent } from '#core/approvals/schemas';
import snsSequential from '../../events/sns-approval-sequential.json' with { type: 'json' };
import {
  FakeClock,
  FakeMailer,
  FakeSlack,
  KEYS,
  MemoryApprovalStore,
  NOW,
  settingsWith,
} from '../unit/approvals/fakes.ts';
import { fuzzParams, fuzzTimeout, hostileString, malformedJson, mutated, secretMarker } from './arbitraries.ts';

const EXEC = '8c2a4a4e-1c1d-4d6e-9a5b-3f3c2b1a0e9d';
const BASE_MESSAGE = JSON.parse(snsSequential.Records[0]?.Sns.Message ?? '{}') as {
  approval: Record<string, unknown>;
};

const setup = () => {
  const store = new MemoryApprovalStore();
  const slack = new FakeSlack();
  const mailer = new FakeMailer();
  const warnings: string[] = [];
  const deps: RequestDeps = {
    store,
    slack,
    mailer,
    keys: async () => KEYS,
    baseUrl: 'https://approvals.example.com',
    clock: new FakeClock(NOW),
    warn: (message, extra) => warnings.push(`${message} ${JSON.stringify(extra ?? {})}`),
    pipelines: {
      getPipelineState: async () => ({ pipelineName: 'web-app', stages: [] }),
      getPipelineExecution: async () => ({
        pipelineName: 'web-app',
        pipelineExecutionId: EXEC,
        status: 'InProgress',
        sourceRevisions: [],
      }),
      listActionExecutions: async () => [],
      listRecentActionExecutions: async () => [],
      getActionConfiguration: async () => undefined,
    },
    settings: async () =>
      settingsWith({ defaults: { slackChannels: ['C0DEPLOYS'], emails: ['ana@example.com', 'bo@example.com'] } }),
  };
  return { store, slack, mailer, warnings, deps };
};

const snsEvent = (message: string) => {
  const e = structuredClone(snsSequential);
  const record = e.Records[0];
  if (record) record.Sns.Message = message;
  return e;
};

/** Hostile values of a size an SNS approval message can carry (CodePipeline caps names at 100 characters). */
const value = () => hostileString().map((v) => v.slice(0, 2_000));

/** A real approval message with hostile names, custom data and links, and a secret-looking token. */
const hostileMessage = fc
  .record({
    token: secretMarker('APPRTOKEN'),
    pipelineName: value(),
    stageName: value(),
    actionName: value(),
    customData: fc.oneof(value(), fc.constant('<script>alert(1)</script>')),
    externalEntityLink: fc.oneof(value(), fc.constantFrom('javascript:alert(1)', 'https://evil.example/"><x')),
    expires: fc.oneof(fc.constant('2026-03-09T10:00Z'), value()),
  })
  .map((v) => ({ token: v.token, message: { ...BASE_MESSAGE, approval: { ...BASE_MESSAGE.approval, ...v } } }));

const message = fc.oneof(
  hostileMessage.map(({ token, message }) => ({ token, raw: JSON.stringify(message) })),
  hostileMessage.chain(({ token, message }) => mutated(message).map((m) => ({ token, raw: JSON.stringify(m.event) }))),
  malformedJson().map((raw) => ({ token: undefined, raw })),
  hostileString().map((raw) => ({ token: undefined, raw })),
);

describe('approval-request (fuzz)', () => {
  it(
    'a hostile SNS message is refused with a ValidationError and no write, or handled without leaking its token',
    async () => {
      const seen = { refused: 0, handled: 0 };
      await fc.assert(
        fc.asyncProperty(message, async ({ token, raw }) => {
          const s = setup();
          const parsed = RequestFunctionEvent.safeParse(snsEvent(raw));
          // The SNS envelope around any message is valid; the message itself is checked by the use case.
          expect(parsed.success).toBe(true);
          if (!parsed.success) return;
          try {
            await handleRequestEvent(parsed.data, s.deps);
            seen.handled++;
          } catch (err) {
            seen.refused++;
            expect((err as Error).name).toBe('ValidationError');
            expect(s.store.records.size).toBe(0);
            expect(s.slack.posted).toEqual([]);
            expect(s.mailer.sent).toEqual([]);
            return;
          }
          const sent = JSON.stringify([s.slack.posted, s.slack.updated, s.mailer.sent, s.warnings]);
          if (token !== undefined) expect(sent).not.toContain(token);
          // The HTML part escapes every value (the text part is plain text by definition).
          for (const m of s.mailer.sent) {
            expect(m.html ?? '').not.toContain('<script>alert(1)</script>');
            expect(m.html ?? '').not.toMatch(/href="javascript:/i);
            // The subject is one header line: no CR/LF or other control character from any name reaches it.
            expect(m.subject).not.toMatch(/[\p{Cc}\u2028\u2029]/u);
          }
        }),
        fuzzParams(),
      );
      expect(seen.handled).toBeGreaterThan(0);
      expect(seen.refused).toBeGreaterThan(0);
    },
    fuzzTimeout(10),
  );
});
