/**
 * Fuzzing the approval API routes (functions/core/approvals/http.ts: GET/HEAD page, POST decision, Slack
 * interactions) with the in-memory store and fakes of the approvals tests.
 *
 * Contract: it never throws for a client's mistake (the Lambda root turns a throw into a 500); bad input gets a
 * 4xx with a reason; a request without a valid signature records nothing and calls neither CodePipeline nor
 * Slack; HTML answers always carry the security headers; no signing key, Slack signing secret or CodePipeline
 * approval token appears in a response or a log line.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signSlackRequest } from '#core/approvals/signing';
import { logger } from '#core/powertools';
import blockActions from '../../events/slack-block-actions.json' with { type: 'json' };
import { handleApprovalHttp } from '../../functions/approval-api/http.ts';
import { KEYS, NOW, pendingRecord } from '../unit/approvals/fakes.ts';
import { apiSetup, formFor, httpEvent, linkFor, SIGNING_SECRET } from '../unit/approvals/helpers.ts';
import {
  captureLogs,
  fuzzParams,
  fuzzTimeout,
  hostileString,
  malformedJson,
  mutated,
  wrongValue,
} from './arbitraries.ts';

const RECORD = pendingRecord({ slackPosts: [{ channel: 'C0DEPLOYS', ts: '1700000000.000001' }] });
const ID = RECORD.id;
const SECRETS = [KEYS.current.key, ...Object.values(KEYS.previous), SIGNING_SECRET, RECORD.token];
const NOW_S = Math.floor(Date.parse(NOW) / 1000);

const setup = () => {
  const s = apiSetup(structuredClone(RECORD));
  s.deps.warn = (message, extra) => logger.warn(message, extra ?? {});
  return s;
};

type Setup = ReturnType<typeof setup>;
const writesOf = (s: Setup) => ({
  votes: s.store.votes.size,
  nonces: s.store.nonces.size,
  decisions: s.calls.length,
  slackPosts: s.slack.posted.length,
  slackUpdates: s.slack.updated.length,
  views: s.slack.views.length,
  status: s.store.records.get(ID)?.status,
});
const NO_WRITES = { votes: 0, nonces: 0, decisions: 0, slackPosts: 0, slackUpdates: 0, views: 0, status: 'PENDING' };

/** The answer is a client error or success with a reason, never a 5xx; HTML carries the security headers. */
const expectWellFormed = (res: APIGatewayProxyStructuredResultV2, method = 'GET') => {
  const status = res.statusCode ?? 200;
  expect(status).toBeGreaterThanOrEqual(200);
  expect(status).toBeLessThan(500);
  const headers = res.headers ?? {};
  expect(headers['cache-control']).toBe('no-store');
  if (String(headers['content-type']).startsWith('text/html')) {
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(String(headers['content-security-policy'])).toContain("frame-ancestors 'none'");
    expect(String(headers['content-security-policy'])).toContain("default-src 'none'");
  }
  if (status >= 400 && method.toUpperCase() !== 'HEAD') {
    // A reason: an error page or JSON error, or for 405 the methods that are allowed.
    const reason = status === 405 ? String(headers.allow ?? '') : (res.body ?? '');
    expect(reason.length).toBeGreaterThan(0);
  }
  for (const value of Object.values(headers)) expect(String(value)).not.toMatch(/[\r\n]/);
};

const expectNoSecrets = (text: string) => {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
};

const idSegment = fc.oneof(
  fc.constant(ID),
  fc.constant(encodeURIComponent(ID)),
  hostileString().map((s) => s.slice(0, 300)),
  hostileString().map((s) => encodeURIComponent(s.slice(0, 300).replace(/[\ud800-\udfff]/g, '?'))),
);

const path = fc
  .tuple(
    fc.constantFrom('/approvals/', '/prefix/approvals/', '/', '/slack/interactions', '/../approvals/'),
    idSegment,
    fc.constantFrom('', '/decision', '/decision/', '/../decision', '//'),
  )
  .map(([a, id, b]) => (a === '/slack/interactions' ? a : `${a}${id}${b}`));

const query = fc.oneof(
  fc.dictionary(fc.constantFrom('k', 'r', 'e', 's', 'n', 't', 'x'), hostileString(), { maxKeys: 6 }),
  // A real link with one component forged.
  fc.record({ part: fc.constantFrom('k', 'r', 'e', 's'), value: hostileString() }).map(({ part, value }) => {
    const l = linkFor(ID);
    return { k: l.k, r: l.r, e: String(l.e), s: l.s, [part]: value };
  }),
);

const body = fc.oneof(
  fc.constant(undefined),
  hostileString(),
  malformedJson(),
  query.map((q) => new URLSearchParams(q).toString()),
  fc
    .record({ decision: fc.oneof(fc.constantFrom('approve', 'reject'), hostileString()), comment: hostileString() })
    .map(({ decision, comment }) => {
      // A well-formed form from a real page, then its signature forged.
      const form = formFor(ID, linkFor(ID), decision, comment);
      return new URLSearchParams({ ...form, s: `${form.s.slice(0, -2)}AA` }).toString();
    }),
);

const headers = fc.record(
  {
    'content-type': fc.oneof(
      fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', ''),
      hostileString(),
    ),
    'x-slack-request-timestamp': fc.oneof(fc.constant(String(NOW_S)), hostileString()),
    'x-slack-signature': fc.oneof(
      hostileString(),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }).map((h) => `v0=${h}`),
      // Signed with a key that is not ours.
      hostileString().map((b) => signSlackRequest('not-the-signing-secret', NOW_S, b)),
    ),
    cookie: hostileString(),
  },
  { requiredKeys: [] },
);

const request = fc
  .record({
    method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'get', 'PATCH'),
    path,
    query: fc.option(query, { nil: undefined }),
    body,
    headers,
    base64: fc.boolean(),
  })
  .map(
    (r): APIGatewayProxyEventV2 =>
      httpEvent(r.method, r.path, {
        ...(r.query ? { query: r.query } : {}),
        ...(r.body !== undefined ? { body: r.body } : {}),
        headers: r.headers,
        base64: r.base64,
      }),
  );

/** A Slack interaction signed with our signing secret (Slack really sent it) but with a hostile payload. */
const slackEvent = (payload: string) => {
  const raw = new URLSearchParams({ payload }).toString();
  return httpEvent('POST', '/slack/interactions', {
    body: raw,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(NOW_S),
      'x-slack-signature': signSlackRequest(SIGNING_SECRET, NOW_S, raw),
    },
  });
};

const blockActionsFor = (value: string) => {
  const p = structuredClone(blockActions);
  const first = p.actions[0];
  if (first) first.value = value;
  return p;
};

const signedPayload = fc.oneof(
  hostileString(),
  malformedJson(),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  // Valid-shaped block actions for a hostile or unknown approval id, or with fields mutated.
  fc
    .oneof(fc.constant(ID), hostileString())
    .chain((v) => mutated(blockActionsFor(v)).map((m) => JSON.stringify(m.event))),
  fc.oneof(fc.constant(ID), hostileString()).map((v) => JSON.stringify(blockActionsFor(v))),
  fc
    .record({
      metadata: fc.oneof(
        hostileString(),
        malformedJson(),
        wrongValue().map((v) => JSON.stringify(v)),
        // JSON that parses but is not the metadata object Stagecrew set.
        fc.constantFrom('null', '42', '"x"', '[]', 'true', '{"id":5}', '{}'),
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
      ),
    })
    .map(({ metadata }) =>
      JSON.stringify({
        type: 'view_submission',
        user: { id: 'U0EVE', name: 'eve' },
        view: {
          callback_id: 'stagecrew_reject_reason',
          private_metadata: metadata,
          state: { values: { reason: { value: { value: 'no' } } } },
        },
      }),
    ),
);

describe('approval API (fuzz)', () => {
  it(
    'any unsigned or forged request gets a 2xx/4xx with a reason, records nothing and calls no one',
    async () => {
      const logs = captureLogs();
      try {
        await fc.assert(
          fc.asyncProperty(request, async (event) => {
            const s = setup();
            const res = await handleApprovalHttp(event, s.deps);
            expectWellFormed(res, event.requestContext.http.method);
            expect(writesOf(s)).toEqual(NO_WRITES);
            expect(s.store.audits).toEqual([]);
            expectNoSecrets(JSON.stringify(res));
          }),
          fuzzParams(),
        );
        // The capture is live: forged Slack requests are logged (by reason, never by content). One is sent here
        // whatever the generated runs held (a POST to /slack/interactions is 1 of about 40 generated shapes).
        await handleApprovalHttp(
          httpEvent('POST', '/slack/interactions', { body: 'payload=%7B%7D', headers: {} }),
          setup().deps,
        );
        expectNoSecrets(logs.text());
        expect(logs.text()).toContain('rejected a Slack request');
      } finally {
        logs.restore();
      }
    },
    fuzzTimeout(10),
  );

  it(
    'a validly signed Slack interaction with a hostile payload never gets a 5xx and leaks nothing',
    async () => {
      const logs = captureLogs();
      try {
        await fc.assert(
          fc.asyncProperty(signedPayload, async (payload) => {
            const s = setup();
            const res = await handleApprovalHttp(slackEvent(payload), s.deps);
            expectWellFormed(res);
            expectNoSecrets(JSON.stringify([res, s.slack.ephemeral, s.slack.updated, s.slack.views]));
            // Nothing but an approve click on the real id can reach CodePipeline.
            if (s.calls.length > 0) expect(payload).toContain(ID);
          }),
          fuzzParams(),
        );
        expectNoSecrets(logs.text());
      } finally {
        logs.restore();
      }
    },
    fuzzTimeout(10),
  );

  it(
    'a correctly signed link with a hostile recipient renders escaped, with the headers, and writes nothing',
    async () => {
      await fc.assert(
        fc.asyncProperty(hostileString(), fc.constantFrom('GET', 'HEAD'), async (recipient, method) => {
          const s = setup();
          const l = linkFor(ID, recipient);
          const res = await handleApprovalHttp(
            httpEvent(method, `/approvals/${ID}`, { query: { k: l.k, r: l.r, e: String(l.e), s: l.s } }),
            s.deps,
          );
          expectWellFormed(res, method);
          expect(res.body ?? '').not.toMatch(/<script|<img/i);
          expect(writesOf(s)).toEqual(NO_WRITES);
          expectNoSecrets(JSON.stringify(res));
        }),
        fuzzParams(),
      );
    },
    fuzzTimeout(10),
  );
});
