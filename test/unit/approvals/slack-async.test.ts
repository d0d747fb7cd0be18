/**
 * Slack's 3-second window: the interaction is acknowledged before any lookup, finished by an asynchronous invocation
 * (answered through response_url), and Slack's retries of the same click never vote twice.
 */
import { describe, expect, it, vi } from 'vitest';
import { ACTION_APPROVE, ACTION_REJECT, REJECT_VIEW } from '#core/approvals/render';
import { type DeferredSlack, handleApprovalHttp, handleDeferredSlack } from '../../../functions/approval-api/http.ts';
import { NOW, pendingRecord } from './fakes.ts';
import { apiSetup, POSTS, signedSlack } from './helpers.ts';

const at = Date.parse(NOW) / 1000;
const RESPONSE_URL = 'https://hooks.slack.com/actions/T0/1/abc';
const signed = (payload: unknown, retry?: string) => signedSlack(payload, retry ? { retry } : {});
const click = (id: string, user = 'U0ANA', action = ACTION_APPROVE) => ({
  type: 'block_actions',
  user: { id: user, name: user.toLowerCase() },
  trigger_id: 'trig-1',
  response_url: RESPONSE_URL,
  container: { type: 'message', channel_id: 'C1', message_ts: '1.1' },
  channel: { id: 'C1' },
  actions: [{ action_id: action, value: id }],
});

const asyncSetup = (record = pendingRecord({ slackPosts: POSTS, route: { slackChannels: ['C1'] } })) => {
  const t = apiSetup(record);
  const deferred: DeferredSlack[] = [];
  const responses: Array<{ url: string; text: string }> = [];
  t.deps.defer = async (d) => {
    deferred.push(d);
  };
  t.deps.respond = async (url, text) => {
    responses.push({ url, text });
  };
  return { ...t, deferred, responses };
};

describe("Slack's 3-second window", () => {
  it('acknowledges a click before any lookup, then the asynchronous half votes and decides once', async () => {
    const { deps, id, calls, deferred, store } = asyncSetup();
    const get = vi.spyOn(store, 'get');
    const res = await handleApprovalHttp(signed(click(id)), deps);
    expect(res.statusCode).toBe(200);
    expect(get).not.toHaveBeenCalled(); // no DynamoDB, Slack or CodePipeline call before the answer
    expect(calls).toHaveLength(0);
    expect(deferred).toHaveLength(1);
    expect(deferred[0]).toMatchObject({ timestamp: String(at), requestId: 'req-1' });
    await handleDeferredSlack(deferred[0] as DeferredSlack, deps);
    expect(calls).toHaveLength(1);
  });

  it("Slack's retries of the same click vote once and do not answer 'already voted'", async () => {
    const { deps, id, calls, deferred, responses, slack } = asyncSetup(
      pendingRecord({ slackPosts: POSTS, route: { slackChannels: ['C1'], policy: { quorum: 2 } } }),
    );
    await handleApprovalHttp(signed(click(id)), deps);
    await handleApprovalHttp(signed(click(id), '1'), deps);
    await handleApprovalHttp(signed(click(id), '2'), deps);
    expect(deferred.map((d) => d.retry)).toEqual([undefined, '1', '2']);
    for (const d of deferred) await handleDeferredSlack(d, deps);
    expect((await deps.store.get(id))?.approveCount).toBe(1);
    expect(calls).toHaveLength(0);
    expect([...responses, ...slack.ephemeral]).toEqual([]);
  });

  it('answers a refusal through response_url, escaped', async () => {
    const { deps, id, deferred, responses } = asyncSetup();
    await handleApprovalHttp(signed(click(id, 'U0EVE')), deps);
    await handleDeferredSlack(deferred[0] as DeferredSlack, deps);
    expect(responses).toEqual([
      { url: RESPONSE_URL, text: 'Not recorded: you are not a member of the channel this approval was posted to.' },
    ]);
  });

  it('falls back to an ephemeral message when response_url does not answer', async () => {
    const { deps, id, deferred, slack } = asyncSetup();
    deps.respond = async () => {
      throw new Error('response_url answered HTTP 404');
    };
    await handleApprovalHttp(signed(click(id, 'U0EVE')), deps);
    await handleDeferredSlack(deferred[0] as DeferredSlack, deps);
    expect(slack.ephemeral.map((e) => [e.user, e.text])).toEqual([
      ['U0EVE', 'Not recorded: you are not a member of the channel this approval was posted to.'],
    ]);
  });

  it('Reject with a required reason opens the modal at once (trigger_id lasts 3 s); the submission is deferred', async () => {
    const { deps, id, calls, deferred, slack } = asyncSetup(
      pendingRecord({ slackPosts: POSTS, route: { slackChannels: ['C1'], policy: { rejectNeedsReason: true } } }),
    );
    await handleApprovalHttp(signed(click(id, 'U0ANA', ACTION_REJECT)), deps);
    expect(slack.views).toHaveLength(1);
    expect(deferred).toHaveLength(0);
    const view = slack.views[0]?.view as { private_metadata: string };
    const submit = {
      type: 'view_submission',
      user: { id: 'U0ANA', name: 'ana' },
      view: {
        callback_id: REJECT_VIEW,
        private_metadata: view.private_metadata,
        state: { values: { reason: { value: { value: 'canary is red' } } } },
      },
    };
    const res = await handleApprovalHttp(signed(submit), deps);
    expect(JSON.parse(res.body ?? '')).toEqual({ response_action: 'clear' });
    expect(calls).toHaveLength(0);
    await handleDeferredSlack(deferred[0] as DeferredSlack, deps);
    expect(calls).toEqual([expect.objectContaining({ result: expect.objectContaining({ status: 'Rejected' }) })]);
  });

  it('a click that cannot be handed over is processed inline rather than lost', async () => {
    const { deps, id, calls } = asyncSetup();
    deps.defer = async () => {
      throw new Error('Lambda Invoke: TooManyRequestsException');
    };
    expect((await handleApprovalHttp(signed(click(id)), deps)).statusCode).toBe(200);
    expect(calls).toHaveLength(1);
  });

  it('a deferred interaction whose body was altered is refused (the signature is checked again)', async () => {
    const { deps, id, calls, deferred } = asyncSetup();
    await handleApprovalHttp(signed(click(id)), deps);
    const forged = Buffer.from(
      Buffer.from((deferred[0] as DeferredSlack).body, 'base64')
        .toString()
        .replace('U0ANA', 'U0BO'),
    ).toString('base64');
    await handleDeferredSlack({ ...(deferred[0] as DeferredSlack), body: forged }, deps);
    expect(calls).toHaveLength(0);
  });
});
