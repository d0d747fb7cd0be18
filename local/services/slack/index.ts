import { randomUUID } from 'node:crypto';
import { Outbox } from '../../runtime/outbox.ts';
import type { LocalContext, RawRequest, RawResponse } from '../types.ts';

/**
 * A Slack Web API look-alike at `/_slack/api/<method>` and incoming webhooks at `/_slack/hooks/<id>`. Messages
 * land in the outbox; answers have Slack's shapes (`{ ok: true, channel, ts, message }` or `{ ok: false, error }`,
 * always HTTP 200 for API methods, as Slack does). Functions reach it through SLACK_API_URL.
 */
type Payload = Record<string, unknown>;

const json = (status: number, body: unknown): RawResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify(body),
});
const fail = (error: string) => json(200, { ok: false, error });

let lastTs = 0;
/** Slack message timestamps: `seconds.micros`, unique and increasing per channel. */
const nextTs = (): string => {
  const now = Date.now() * 1000;
  lastTs = Math.max(now, lastTs + 1);
  return `${Math.floor(lastTs / 1e6)}.${String(lastTs % 1e6).padStart(6, '0')}`;
};

const parseBody = (request: RawRequest): Payload | undefined => {
  const type = (request.headers['content-type'] ?? '').toLowerCase();
  const text = request.body.toString('utf8');
  if (type.includes('application/json')) {
    try {
      const v = JSON.parse(text || '{}') as unknown;
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Payload) : undefined;
    } catch {
      return undefined;
    }
  }
  // Slack also takes form posts (and query strings) with JSON-encoded `blocks`/`attachments`/`view`.
  const out: Payload = Object.fromEntries(request.query);
  for (const [k, v] of new URLSearchParams(text)) out[k] = v;
  for (const key of ['blocks', 'attachments', 'view']) {
    if (typeof out[key] === 'string') {
      try {
        out[key] = JSON.parse(out[key] as string);
      } catch {
        return undefined;
      }
    }
  }
  return out;
};

const tokenOf = (request: RawRequest, body: Payload): string | undefined => {
  const auth = request.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(auth);
  if (m) return m[1];
  return typeof body.token === 'string' && body.token !== '' ? body.token : undefined;
};

const hasContent = (body: Payload) =>
  (typeof body.text === 'string' && body.text !== '') || (Array.isArray(body.blocks) && body.blocks.length > 0);

const messageOf = (body: Payload, ts: string) => ({
  type: 'message',
  subtype: 'bot_message',
  text: typeof body.text === 'string' ? body.text : '',
  ts,
  bot_id: 'BLOCAL',
  ...(Array.isArray(body.blocks) ? { blocks: body.blocks } : {}),
  ...(typeof body.thread_ts === 'string' ? { thread_ts: body.thread_ts } : {}),
});

type Directory = {
  users?: Array<{ id: string; name?: string; realName?: string; email?: string }>;
  usergroups?: Record<string, string[]>;
  channels?: Record<string, string[]>;
};
const directoryOf = (ctx: LocalContext): Directory =>
  (ctx.store.get('slack:directory', 'workspace') as Directory | undefined) ?? {};

/** A user object as `users.info` returns it (the email only under `profile`, as with `users:read.email`). */
const userObject = (u: NonNullable<Directory['users']>[number]) => ({
  id: u.id,
  team_id: 'TLOCAL',
  name: u.name ?? u.id.toLowerCase(),
  real_name: u.realName ?? u.name ?? u.id,
  deleted: false,
  is_bot: false,
  profile: {
    real_name: u.realName ?? u.name ?? u.id,
    display_name: u.name ?? '',
    ...(u.email ? { email: u.email } : {}),
  },
});

/** Cursor pagination as Slack does it: `limit` per page, `response_metadata.next_cursor` ('' on the last page). */
const page = <T>(all: T[], body: Payload) => {
  const limit = Math.min(Math.max(Number(body.limit ?? 100) || 100, 1), 1000);
  const start =
    typeof body.cursor === 'string' && body.cursor !== '' ? Number(Buffer.from(body.cursor, 'base64').toString()) : 0;
  const items = all.slice(start, start + limit);
  const next = start + limit < all.length ? Buffer.from(String(start + limit)).toString('base64') : '';
  return { items, next };
};

const methods: Record<string, (body: Payload, ctx: LocalContext) => RawResponse> = {
  'users.info': (body, ctx) => {
    const user = directoryOf(ctx).users?.find((u) => u.id === body.user);
    return user ? json(200, { ok: true, user: userObject(user) }) : fail('user_not_found');
  },
  'users.lookupByEmail': (body, ctx) => {
    const email = typeof body.email === 'string' ? body.email.toLowerCase() : '';
    const user = directoryOf(ctx).users?.find((u) => u.email?.toLowerCase() === email);
    return user ? json(200, { ok: true, user: userObject(user) }) : fail('users_not_found');
  },
  'usergroups.users.list': (body, ctx) => {
    const users = directoryOf(ctx).usergroups?.[String(body.usergroup ?? '')];
    return users ? json(200, { ok: true, users }) : fail('no_such_subteam');
  },
  'conversations.members': (body, ctx) => {
    const members = directoryOf(ctx).channels?.[String(body.channel ?? '')];
    if (!members) return fail('channel_not_found');
    const { items, next } = page(members, body);
    return json(200, { ok: true, members: items, response_metadata: { next_cursor: next } });
  },
  'auth.test': () =>
    json(200, {
      ok: true,
      url: 'https://local.slack.com/',
      team: 'local',
      user: 'stagecrew',
      team_id: 'TLOCAL',
      user_id: 'ULOCAL',
      bot_id: 'BLOCAL',
    }),
  'chat.postMessage': (body, ctx) => {
    if (typeof body.channel !== 'string' || body.channel === '') return fail('channel_not_found');
    if (!hasContent(body)) return fail('no_text');
    const ts = nextTs();
    new Outbox(ctx.store, ctx.baseUrl).addSlack({
      channel: body.channel,
      ts,
      text: typeof body.text === 'string' ? body.text : '',
      ...(body.blocks !== undefined ? { blocks: body.blocks } : {}),
      ...(typeof body.thread_ts === 'string' ? { threadTs: body.thread_ts } : {}),
    });
    return json(200, { ok: true, channel: body.channel, ts, message: messageOf(body, ts) });
  },
  'chat.update': (body, ctx) => {
    if (typeof body.channel !== 'string' || body.channel === '') return fail('channel_not_found');
    if (typeof body.ts !== 'string' || body.ts === '') return fail('message_not_found');
    if (!hasContent(body)) return fail('no_text');
    const updated = new Outbox(ctx.store, ctx.baseUrl).updateSlack(body.channel, body.ts, {
      ...(typeof body.text === 'string' ? { text: body.text } : {}),
      ...(body.blocks !== undefined ? { blocks: body.blocks } : {}),
    });
    if (!updated) return fail('message_not_found');
    return json(200, {
      ok: true,
      channel: body.channel,
      ts: body.ts,
      text: updated.text,
      message: messageOf({ ...body, text: updated.text }, body.ts),
    });
  },
  'chat.postEphemeral': (body, ctx) => {
    if (typeof body.channel !== 'string' || body.channel === '') return fail('channel_not_found');
    if (typeof body.user !== 'string' || body.user === '') return fail('user_not_in_channel');
    if (!hasContent(body)) return fail('no_text');
    const ts = nextTs();
    new Outbox(ctx.store, ctx.baseUrl).addSlack({
      channel: body.channel,
      ts,
      text: typeof body.text === 'string' ? body.text : '',
      subject: `ephemeral to ${body.user}`,
      ...(body.blocks !== undefined ? { blocks: body.blocks } : {}),
    });
    return json(200, { ok: true, message_ts: ts });
  },
  'views.open': (body, ctx) => {
    if (typeof body.trigger_id !== 'string' || body.trigger_id === '') return fail('invalid_trigger_id');
    if (body.view === null || typeof body.view !== 'object') return fail('invalid_arguments');
    const id = `V${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
    ctx.store.put('slack:views', id, {
      id,
      triggerId: body.trigger_id,
      view: body.view,
      openedAt: new Date().toISOString(),
    });
    return json(200, { ok: true, view: { id, ...(body.view as object) } });
  },
};

export const handleSlack = async (request: RawRequest, ctx: LocalContext): Promise<RawResponse> => {
  const hook = /^\/_slack\/hooks\/([A-Za-z0-9_/-]+)$/.exec(request.path);
  if (hook) {
    if (request.method !== 'POST')
      return { status: 405, headers: { 'content-type': 'text/plain' }, body: 'invalid_method' };
    const body = parseBody({ ...request, headers: { ...request.headers, 'content-type': 'application/json' } });
    if (!body) return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'invalid_payload' };
    if (!hasContent(body)) return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'no_text' };
    new Outbox(ctx.store, ctx.baseUrl).addSlack({
      channel: `webhook:${hook[1]}`,
      ts: nextTs(),
      text: typeof body.text === 'string' ? body.text : '',
      ...(body.blocks !== undefined ? { blocks: body.blocks } : {}),
    });
    return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
  }
  const api = /^\/_slack\/api\/([a-zA-Z.]+)$/.exec(request.path);
  if (!api) return json(404, { ok: false, error: 'unknown_method' });
  const method = methods[api[1] as string];
  if (!method) return fail('unknown_method');
  const body = parseBody(request);
  if (!body) return fail('invalid_json');
  if (!tokenOf(request, body)) return fail('not_authed');
  return method(body, ctx);
};
