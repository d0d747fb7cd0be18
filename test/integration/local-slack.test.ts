import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../helpers/local-cloud.ts';

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud({
    slackDirectory: {
      users: [
        { id: 'U0ANA', name: 'ana', realName: 'Ana Lima', email: 'ana@example.com' },
        { id: 'U0BO', name: 'bo' },
      ],
      usergroups: { S0RELEASE: ['U0ANA'] },
      channels: { C0DEPLOYS: ['U0ANA', 'U0BO', 'U0CY'] },
    },
  });
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

  it('answers users.info, users.lookupByEmail, usergroups.users.list and conversations.members from the local directory', async () => {
    expect(await slack('users.info', { user: 'U0ANA' })).toMatchObject({
      ok: true,
      user: { id: 'U0ANA', name: 'ana', real_name: 'Ana Lima', profile: { email: 'ana@example.com' } },
    });
    // A profile without an email is what users.info returns without the users:read.email scope.
    expect(((await slack('users.info', { user: 'U0BO' })).user as { profile: object }).profile).not.toHaveProperty(
      'email',
    );
    expect(await slack('users.info', { user: 'U0NOBODY' })).toEqual({ ok: false, error: 'user_not_found' });
    expect(await slack('users.lookupByEmail', { email: 'ANA@example.com' })).toMatchObject({ user: { id: 'U0ANA' } });
    expect(await slack('users.lookupByEmail', { email: 'x@example.com' })).toEqual({
      ok: false,
      error: 'users_not_found',
    });
    expect(await slack('usergroups.users.list', { usergroup: 'S0RELEASE' })).toEqual({ ok: true, users: ['U0ANA'] });
    expect(await slack('usergroups.users.list', { usergroup: 'S0NONE' })).toEqual({
      ok: false,
      error: 'no_such_subteam',
    });
    const first = await slack('conversations.members', { channel: 'C0DEPLOYS', limit: 2 });
    expect(first.members).toEqual(['U0ANA', 'U0BO']);
    const cursor = (first.response_metadata as { next_cursor: string }).next_cursor;
    const second = await slack('conversations.members', { channel: 'C0DEPLOYS', limit: 2, cursor });
    expect(second).toMatchObject({ members: ['U0CY'], response_metadata: { next_cursor: '' } });
    expect(await slack('conversations.members', { channel: 'C0NONE' })).toEqual({
      ok: false,
      error: 'channel_not_found',
    });
  });
});
