import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../helpers/local-cloud.ts';

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(async () => {
  await t?.stop();
});

const slack = async (method: string, body: unknown, token: string | null = 'xoxb-local') => {
  const res = await fetch(`${t.url}/_slack/api/${method}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
};

type OutboxEntry = { id: string; channel: string; to: string[]; text: string; links: string[]; at: string };
const outbox = async () => (await (await fetch(`${t.url}/_local/outbox`)).json()) as OutboxEntry[];

describe('Slack Web API', () => {
  it('posts a message, then chat.update replaces its current version in the outbox', async () => {
    const blocks = [
      { type: 'section', text: { type: 'mrkdwn', text: `Deploy waits: <${t.url}/approvals/a9|open>` } },
      {
        type: 'actions',
        elements: [
          { type: 'button', text: { type: 'plain_text', text: 'Approve' }, url: `${t.url}/approvals/a9?d=approve` },
        ],
      },
    ];
    const posted = await slack('chat.postMessage', { channel: 'C123', text: 'Deploy waits', blocks });
    expect(posted).toMatchObject({ ok: true, channel: 'C123', message: { text: 'Deploy waits', blocks } });
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    let entry = (await outbox()).find((m) => m.to[0] === 'C123');
    expect(entry).toMatchObject({ channel: 'slack', text: 'Deploy waits' });
    expect(entry?.links).toEqual([`${t.url}/approvals/a9`, `${t.url}/approvals/a9?d=approve`]);

    const updated = await slack('chat.update', { channel: 'C123', ts: posted.ts, text: 'Approved by U1', blocks: [] });
    expect(updated).toMatchObject({ ok: true, channel: 'C123', ts: posted.ts, text: 'Approved by U1' });
    const all = (await outbox()).filter((m) => m.to[0] === 'C123');
    expect(all).toHaveLength(1);
    entry = all[0];
    expect(entry?.text).toBe('Approved by U1');
    expect(entry?.links).toEqual([]);
    expect(await slack('chat.update', { channel: 'C123', ts: '1.000001', text: 'x' })).toEqual({
      ok: false,
      error: 'message_not_found',
    });
  });

  it('requires a bearer token and validates arguments as Slack does', async () => {
    expect(await slack('chat.postMessage', { channel: 'C1', text: 'x' }, null)).toEqual({
      ok: false,
      error: 'not_authed',
    });
    expect(await slack('chat.postMessage', { channel: 'C1' })).toEqual({ ok: false, error: 'no_text' });
    expect(await slack('chat.postMessage', { text: 'x' })).toEqual({ ok: false, error: 'channel_not_found' });
    expect(await slack('chat.nope', {})).toEqual({ ok: false, error: 'unknown_method' });
  });

  it('accepts form posts, ephemeral messages and views.open', async () => {
    const form = await fetch(`${t.url}/_slack/api/chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'xoxb-local', channel: 'C9', text: 'from a form' }).toString(),
    });
    expect(await form.json()).toMatchObject({ ok: true, channel: 'C9' });
    expect(await slack('chat.postEphemeral', { channel: 'C9', user: 'U1', text: 'only you' })).toMatchObject({
      ok: true,
    });
    const view = await slack('views.open', {
      trigger_id: 'T1',
      view: { type: 'modal', title: { type: 'plain_text', text: 'Reject' } },
    });
    expect(view).toMatchObject({ ok: true, view: { type: 'modal' } });
    expect(await slack('views.open', { view: {} })).toEqual({ ok: false, error: 'invalid_trigger_id' });
  });

  it('captures incoming webhooks and keeps the outbox oldest first', async () => {
    const res = await fetch(`${t.url}/_slack/hooks/T1/B1/xyz`, {
      method: 'POST',
      body: JSON.stringify({ text: `see ${t.url}/x` }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    const bad = await fetch(`${t.url}/_slack/hooks/T1/B1/xyz`, { method: 'POST', body: '{' });
    expect(bad.status).toBe(400);
    const all = await outbox();
    expect(all.at(-1)).toMatchObject({ to: ['webhook:T1/B1/xyz'], links: [`${t.url}/x`] });
    const times = all.map((m) => m.at);
    expect([...times].sort()).toEqual(times);
  });
});
