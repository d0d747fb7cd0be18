import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACTION_APPROVE, ACTION_REJECT, REJECT_VIEW } from '#core/approvals/render';
import { signSlackRequest } from '#core/approvals/signing';
import { handleApprovalHttp } from '../../../functions/approval-api/http.ts';
import { NOW, pendingRecord } from '../approvals/fakes.ts';
import {
  apiSetup,
  formFor,
  httpEvent,
  linkFor,
  POSTS,
  postForm,
  queryOf,
  SIGNING_SECRET,
} from '../approvals/helpers.ts';

const body = (r: { body?: string }) => r.body ?? '';

describe('GET /approvals/{id}', () => {
  it('renders one confirmation page with details, a nonce form and strict headers; changes nothing', async () => {
    const { deps, id, store } = apiSetup(pendingRecord({ customData: '<script>alert(1)</script>' }));
    const before = JSON.stringify([...store.records.values()]);
    const res = await handleApprovalHttp(httpEvent('GET', `/approvals/${id}`, { query: queryOf(linkFor(id)) }), deps);
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-robots-tag': 'noindex, nofollow',
    });
    const csp = String(res.headers?.['content-security-policy']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
    const html = body(res);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain(`action="/approvals/${id}/decision"`);
    expect(html).toMatch(/name="n" value="\d+\.[\w-]+"/);
    expect(html).toContain('value="approve"');
    expect(html).toContain('value="reject"');
    expect(html).not.toContain('tok-1a2b3c4d');
    expect(JSON.stringify([...store.records.values()])).toBe(before);
    expect(store.nonces.size + store.votes.size + store.audits.length).toBe(0);
  });

  it('HEAD answers the same status with no body and no writes', async () => {
    const { deps, id, store } = apiSetup();
    const res = await handleApprovalHttp(httpEvent('HEAD', `/approvals/${id}`, { query: queryOf(linkFor(id)) }), deps);
    expect([res.statusCode, res.body]).toEqual([200, '']);
    expect(store.nonces.size + store.votes.size).toBe(0);
  });

  it('403 for a tampered link, 404 for an unknown id, 410 for an expired link', async () => {
    const { deps, id } = apiSetup();
    const l = linkFor(id);
    expect(
      (
        await handleApprovalHttp(
          httpEvent('GET', `/approvals/${id}`, { query: { ...queryOf(l), r: 'eve@example.com' } }),
          deps,
        )
      ).statusCode,
    ).toBe(403);
    const unknown = 'appr_unknown000000000000';
    expect(
      (await handleApprovalHttp(httpEvent('GET', `/approvals/${unknown}`, { query: queryOf(linkFor(unknown)) }), deps))
        .statusCode,
    ).toBe(404);
    const old = linkFor(id, 'ana@example.com', new Date('2026-03-02T09:00:00Z'));
    expect(
      (await handleApprovalHttp(httpEvent('GET', `/approvals/${id}`, { query: queryOf(old) }), deps)).statusCode,
    ).toBe(410);
  });
});

describe('malformed percent-encoding in the approval id', () => {
  it.each([
    ['GET', '/approvals/%ZZ'],
    ['HEAD', '/approvals/%ZZ'],
    ['GET', '/approvals/%'],
    ['POST', '/approvals/%E0%A4%A/decision'],
    ['PUT', '/approvals/%E0%A4%A/decision'],
  ])('%s %s gets a 400 with a reason, not a URIError, and writes nothing', async (method, path) => {
    const { deps, calls, store } = apiSetup();
    const res = await handleApprovalHttp(
      httpEvent(method, path, {
        body: 'decision=approve',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      deps,
    );
    expect(res.statusCode).toBe(400);
    expect(res.headers).toMatchObject({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
    expect(String(res.headers?.['content-security-policy'])).toContain("frame-ancestors 'none'");
    expect(body(res)).toEqual(method === 'HEAD' ? '' : expect.stringContaining('not valid percent-encoding'));
    expect(calls).toHaveLength(0);
    expect(store.nonces.size + store.votes.size + store.audits.length).toBe(0);
  });
});

describe('POST /approvals/{id}/decision', () => {
  it('approves, confirms, updates Slack from the persisted record; the link then shows "already decided by"', async () => {
    const { deps, id, calls, slack, store } = apiSetup(pendingRecord({ slackPosts: [{ channel: 'C1', ts: '1.1' }] }));
    const l = linkFor(id);
    const res = await handleApprovalHttp(postForm(id, formFor(id, l, 'approve', 'lgtm'), true), deps);
    expect(res.statusCode).toBe(200);
    expect(body(res)).toContain('Approved: CodePipeline has been told');
    expect(calls).toHaveLength(1);
    expect(slack.updated[0]?.text).toContain('Approved by ana@example.com');
    const audit = store.audits.find((a) => a.event === 'decided');
    expect(audit).toMatchObject({
      actor: 'ana@example.com',
      channel: 'email',
      sourceIp: '203.0.113.7',
      userAgent: 'test-agent',
      comment: 'lgtm',
      approvedAt: NOW,
    });
    const again = await handleApprovalHttp(httpEvent('GET', `/approvals/${id}`, { query: queryOf(l) }), deps);
    expect(again.statusCode).toBe(409);
    expect(body(again)).toContain(`Already decided by ana@example.com at ${NOW}`);
    expect(body(again)).not.toContain('<form');
  });

  it('refuses a replayed form (409), a forged nonce (403), a non-form body (415) and a missing reason (400)', async () => {
    const { deps, id, calls } = apiSetup(
      pendingRecord({ route: { policy: { allow: [], quorum: 2, allowSelfApproval: false, rejectNeedsReason: true } } }),
    );
    const form = formFor(id, linkFor(id), 'approve');
    expect((await handleApprovalHttp(postForm(id, form), deps)).statusCode).toBe(200);
    const bo = formFor(id, linkFor(id, 'bo@example.com'), 'approve');
    expect((await handleApprovalHttp(postForm(id, { ...bo, n: form.n, t: form.t }), deps)).statusCode).toBe(403);
    const replay = await handleApprovalHttp(postForm(id, form), deps);
    expect(replay.statusCode).toBe(409);
    const json = httpEvent('POST', `/approvals/${id}/decision`, {
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect((await handleApprovalHttp(json, deps)).statusCode).toBe(415);
    const reject = await handleApprovalHttp(
      postForm(id, formFor(id, linkFor(id, 'bo@example.com'), 'reject', '')),
      deps,
    );
    expect(reject.statusCode).toBe(400);
    expect(body(reject)).toContain('Please give a reason to reject.');
    expect(body(reject)).toContain('<form'); // asked again, with a fresh nonce
    expect(calls).toHaveLength(0);
  });

  it('refuses an address the approval was not sent to, even with a validly signed link (403)', async () => {
    const { deps, id } = apiSetup();
    const res = await handleApprovalHttp(
      postForm(id, formFor(id, linkFor(id, 'mallory@example.com'), 'approve')),
      deps,
    );
    expect(res.statusCode).toBe(403);
  });
});

const slackEvent = (payload: unknown, at: number, secret = SIGNING_SECRET, base64 = false) => {
  const raw = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return httpEvent('POST', '/slack/interactions', {
    body: raw,
    base64,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(at),
      'x-slack-signature': signSlackRequest(secret, at, raw),
    },
  });
};

const click = (id: string, action = ACTION_APPROVE, user = 'U0ANA') => ({
  type: 'block_actions',
  user: { id: user, name: user.toLowerCase() },
  trigger_id: 'trig-1',
  channel: { id: 'C1' },
  container: { type: 'message', channel_id: 'C1', message_ts: '1.1' },
  message: { ts: '1.1' },
  actions: [{ action_id: action, value: id }],
});

describe('POST /slack/interactions', () => {
  const ts = Date.parse(NOW) / 1000;

  it('verifies the signature over the (base64) raw body, decides, and chat.updates from the persisted outcome', async () => {
    const { deps, id, calls, slack } = apiSetup(pendingRecord({ slackPosts: [{ channel: 'C1', ts: '1.1' }] }));
    const res = await handleApprovalHttp(slackEvent(click(id), ts, SIGNING_SECRET, true), deps);
    expect(res.statusCode).toBe(200);
    expect(calls).toEqual([
      expect.objectContaining({ result: { status: 'Approved', summary: 'Approved by u0ana <slack:U0ANA> via slack' } }),
    ]);
    expect(slack.updated[0]).toMatchObject({ channel: 'C1', ts: '1.1' });
    expect(JSON.stringify(slack.updated[0]?.blocks)).not.toContain(ACTION_APPROVE);
  });

  it('401 for a bad signature or a replay outside the window; nothing is decided', async () => {
    const { deps, id, calls } = apiSetup();
    expect((await handleApprovalHttp(slackEvent(click(id), ts, 'wrong-secret'), deps)).statusCode).toBe(401);
    expect((await handleApprovalHttp(slackEvent(click(id), ts - 301), deps)).statusCode).toBe(401);
    expect((await handleApprovalHttp(slackEvent(click(id), ts + 301), deps)).statusCode).toBe(401);
    expect(calls).toHaveLength(0);
  });

  it('an unauthorized click gets an ephemeral reply and an audit record', async () => {
    const { deps, id, calls, slack, store } = apiSetup(
      pendingRecord({
        route: { policy: { allow: ['U0BOSS'], quorum: 1, allowSelfApproval: false, rejectNeedsReason: true } },
        slackPosts: POSTS,
      }),
    );
    await handleApprovalHttp(slackEvent(click(id, ACTION_APPROVE, 'U0EVE'), ts), deps);
    await handleApprovalHttp(slackEvent(click(id, ACTION_REJECT, 'U0EVE'), ts), deps);
    expect(calls).toHaveLength(0);
    expect(slack.ephemeral.map((e) => [e.user, e.text])).toEqual([
      ['U0EVE', 'Not recorded: you are not on the approver list for this action.'],
      ['U0EVE', 'Not recorded: you are not on the approver list for this action.'],
    ]);
    expect(slack.views).toHaveLength(0);
    expect(store.audits.filter((a) => a.event === 'refused')).toHaveLength(2);
  });

  it('Reject opens a reason modal; the view_submission rejects with that reason', async () => {
    const { deps, id, calls, slack } = apiSetup();
    await handleApprovalHttp(slackEvent(click(id, ACTION_REJECT), ts), deps);
    expect(calls).toHaveLength(0);
    const view = slack.views[0]?.view as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe(REJECT_VIEW);
    const submit = {
      type: 'view_submission',
      user: { id: 'U0ANA', name: 'ana' },
      view: {
        callback_id: REJECT_VIEW,
        private_metadata: view.private_metadata,
        state: { values: { reason: { value: { value: 'canary is red' } } } },
      },
    };
    const res = await handleApprovalHttp(slackEvent(submit, ts), deps);
    expect(JSON.parse(body(res))).toEqual({ response_action: 'clear' });
    expect(calls).toEqual([
      expect.objectContaining({
        result: { status: 'Rejected', summary: 'Rejected by ana <slack:U0ANA> via slack: canary is red' },
      }),
    ]);
    const late = await handleApprovalHttp(slackEvent(submit, ts), deps);
    expect(JSON.parse(body(late)).response_action).toBe('errors');
  });

  it.each([
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"appr_0123456789abcdefghij"'],
    ['an array', '["appr_0123456789abcdefghij"]'],
    ['an object with a non-string id', '{"id":5}'],
    ['an object without an id', '{"channel":"C1"}'],
    ['not JSON', '{not json'],
  ])('a signed view_submission whose private_metadata is %s gets a view error and no vote', async (_l, metadata) => {
    const { deps, calls, store } = apiSetup();
    const warnings: string[] = [];
    deps.warn = (message) => warnings.push(message);
    const submit = {
      type: 'view_submission',
      user: { id: 'U0ANA', name: 'ana' },
      view: {
        callback_id: REJECT_VIEW,
        private_metadata: metadata,
        state: { values: { reason: { value: { value: 'canary is red' } } } },
      },
    };
    const res = await handleApprovalHttp(slackEvent(submit, ts), deps);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(body(res))).toEqual({
      response_action: 'errors',
      errors: { reason: 'This form is damaged; click Reject again.' },
    });
    expect(calls).toHaveLength(0);
    expect(store.votes.size + store.audits.length).toBe(0);
    expect(warnings).toEqual(['refused a Slack reject form with damaged metadata']);
  });

  it('a signed interaction with an empty user id is acknowledged and ignored, not a 500', async () => {
    const { deps, id, calls, store, slack } = apiSetup();
    const clickRes = await handleApprovalHttp(slackEvent(click(id, ACTION_APPROVE, ''), ts), deps);
    const submit = {
      type: 'view_submission',
      user: { id: '', name: 'ana' },
      view: {
        callback_id: REJECT_VIEW,
        private_metadata: JSON.stringify({ id, channel: 'C1', ts: '1.1' }),
        state: { values: { reason: { value: { value: 'no' } } } },
      },
    };
    const submitRes = await handleApprovalHttp(slackEvent(submit, ts), deps);
    expect([clickRes.statusCode, submitRes.statusCode]).toEqual([200, 200]);
    expect(calls).toHaveLength(0);
    expect(store.votes.size + store.audits.length + slack.views.length).toBe(0);
  });

  it('a click on a decided approval says who decided, ephemerally', async () => {
    const { deps, id, slack } = apiSetup(
      pendingRecord({ status: 'APPROVED', decidedBy: 'bo@example.com', decidedAt: NOW, slackPosts: POSTS }),
    );
    await handleApprovalHttp(slackEvent(click(id), ts), deps);
    expect(slack.ephemeral[0]?.text).toBe(`Already decided by bo@example.com at ${NOW}: approved.`);
  });
});

describe('events/ fixtures drive the handler', () => {
  const load = (name: string) => readFileSync(`events/${name}.json`, 'utf8');
  const ts = Date.parse(NOW) / 1000;

  it('http-approval-get / http-approval-post: the payload 2.0 shapes are what the API parses', async () => {
    const { deps, id, calls } = apiSetup();
    const l = linkFor(id);
    const get = JSON.parse(load('http-approval-get').replaceAll('REPLACED_BY_TEST', id));
    get.queryStringParameters = queryOf(l);
    expect((await handleApprovalHttp(get, deps)).statusCode).toBe(200);
    const post = JSON.parse(load('http-approval-post').replaceAll('REPLACED_BY_TEST', id));
    post.body = new URLSearchParams(formFor(id, l, 'approve', 'ship it')).toString();
    expect((await handleApprovalHttp(post, deps)).statusCode).toBe(200);
    expect(calls).toHaveLength(1);
  });

  it('slack-block-actions and slack-view-submission are accepted once signed', async () => {
    const approve = apiSetup();
    const clickPayload = JSON.parse(load('slack-block-actions').replaceAll('REPLACED_BY_TEST', approve.id));
    expect((await handleApprovalHttp(slackEvent(clickPayload, ts), approve.deps)).statusCode).toBe(200);
    expect(approve.calls).toEqual([
      expect.objectContaining({ result: expect.objectContaining({ status: 'Approved' }) }),
    ]);

    const reject = apiSetup();
    const submit = JSON.parse(load('slack-view-submission').replaceAll('REPLACED_BY_TEST', reject.id));
    const res = await handleApprovalHttp(slackEvent(submit, ts), reject.deps);
    expect(JSON.parse(body(res))).toEqual({ response_action: 'clear' });
    expect(reject.calls).toEqual([
      expect.objectContaining({
        result: { status: 'Rejected', summary: 'Rejected by ana <slack:U0ANA> via slack: Canary error rate is up' },
      }),
    ]);
  });
});

describe('published HTTP API events', () => {
  it("answers sam local generate-event's HTTP API v2 event (cookies, base64 body, capitalised headers) with a clear 404", async () => {
    const { deps, store } = apiSetup();
    const event = JSON.parse(readFileSync('events/http-api-sam-generate-event.json', 'utf8'));
    const res = await handleApprovalHttp(event, deps);
    expect(res.statusCode).toBe(404);
    expect(res.headers).toMatchObject({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    expect(store.nonces.size + store.votes.size + store.audits.length).toBe(0);
  });
});
