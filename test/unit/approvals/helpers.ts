import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { ApprovalRecord } from '#core/approvals/model';
import { issueNonce, type LinkParams, signLink, signSlackRequest } from '#core/approvals/signing';
import type { ApiDeps, SlackDirectory } from '../../../functions/approval-api/http.ts';
import { FakeClock, FakeSlack, KEYS, MemoryApprovalStore, NOW, pendingRecord } from './fakes.ts';

export const SIGNING_SECRET = 'slack-signing-secret-for-tests';

/** A payload 2.0 event as API Gateway builds it (see events/http-approval-*.json). */
export const httpEvent = (
  method: string,
  path: string,
  options: { query?: Record<string, string>; body?: string; headers?: Record<string, string>; base64?: boolean } = {},
): APIGatewayProxyEventV2 => ({
  version: '2.0',
  routeKey: `${method} ${path}`,
  rawPath: path,
  rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
  headers: { host: 'approvals.example.com', 'user-agent': 'test-agent', ...(options.headers ?? {}) },
  ...(options.query ? { queryStringParameters: options.query } : {}),
  requestContext: {
    accountId: '123456789012',
    apiId: 'api',
    domainName: 'approvals.example.com',
    domainPrefix: 'approvals',
    http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test-agent' },
    requestId: 'req-1',
    routeKey: `${method} ${path}`,
    stage: '$default',
    time: '',
    timeEpoch: 0,
  },
  isBase64Encoded: options.base64 ?? false,
  ...(options.body !== undefined
    ? { body: options.base64 ? Buffer.from(options.body).toString('base64') : options.body }
    : {}),
});

/** Where the default approval was posted: the unit tests' channel and the events/slack-*.json fixtures' message. */
export const POSTS = [
  { channel: 'C1', ts: '1.1' },
  { channel: 'C0DEPLOYS', ts: '1700000000.000001' },
];

/** A Slack workspace as users.info, usergroups.users.list and conversations.members answer for it. */
export class FakeDirectory implements SlackDirectory {
  users = new Map<string, { email?: string; name?: string }>([
    ['U0ANA', { email: 'ana@example.com' }],
    ['U0BO', { email: 'bo@example.com' }],
    ['U0BOSS', { email: 'boss@example.com' }],
    ['U0EVE', { email: 'eve@example.com' }],
  ]);
  groups = new Map<string, string[]>();
  members = new Map<string, string[]>([
    ['C1', ['U0ANA', 'U0BO', 'U0BOSS']],
    ['C0DEPLOYS', ['U0ANA', 'U0BO', 'U0BOSS']],
  ]);
  failUsers = false;
  failMembers = false;
  async user(userId: string) {
    if (this.failUsers) throw new Error('slack users.info: ratelimited');
    const u = this.users.get(userId);
    if (!u) throw new Error('slack users.info failed: user_not_found');
    return u;
  }
  async groupsOf(userId: string, groupIds: readonly string[]) {
    return groupIds.filter((g) => (this.groups.get(g) ?? []).includes(userId));
  }
  async isMember(channelId: string, userId: string) {
    if (this.failMembers) throw new Error('slack conversations.members: ratelimited');
    return (this.members.get(channelId) ?? []).includes(userId);
  }
}

export const apiSetup = (
  record: ApprovalRecord = pendingRecord({ slackPosts: POSTS, route: { slackChannels: ['C1', 'C0DEPLOYS'] } }),
) => {
  const store = new MemoryApprovalStore();
  store.records.set(record.id, structuredClone(record));
  const slack = new FakeSlack();
  const calls: unknown[] = [];
  const clock = new FakeClock(NOW);
  const directory = new FakeDirectory();
  const deps: ApiDeps = {
    directory,
    store,
    pipelines: {
      putApprovalResult: async (input) => {
        calls.push(input);
        return { approvedAt: clock.now() };
      },
    },
    publisher: { publish: async () => {} },
    clock,
    sleep: async () => {},
    slack,
    keys: async () => KEYS,
    slackSigningSecret: async () => SIGNING_SECRET,
    baseUrl: 'https://approvals.example.com',
    warn: () => {},
  };
  return { store, slack, calls, clock, deps, directory, id: record.id };
};

export const linkFor = (id: string, recipient = 'ana@example.com', exp = new Date('2026-03-03T10:00:00Z')) =>
  signLink(KEYS, id, recipient, exp);

export const queryOf = (l: LinkParams) => ({ k: l.k, r: l.r, e: String(l.e), s: l.s });

/** The form a rendered page would submit. */
export const formFor = (id: string, l: LinkParams, decision: string, comment = '', now = new Date(NOW)) => {
  const n = issueNonce(KEYS, id, l, now);
  return { ...queryOf(l), n: n.n, t: n.t, decision, comment };
};

export const postForm = (id: string, form: Record<string, string>, base64 = false) =>
  httpEvent('POST', `/approvals/${id}/decision`, {
    body: new URLSearchParams(form).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    base64,
  });

/** A Slack interaction as Slack posts it: the form-encoded payload, signed, base64-encoded by API Gateway. */
export const signedSlack = (payload: unknown, options: { at?: number; retry?: string } = {}) => {
  const at = options.at ?? Date.parse(NOW) / 1000;
  const raw = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return httpEvent('POST', '/slack/interactions', {
    body: raw,
    base64: true,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(at),
      'x-slack-signature': signSlackRequest(SIGNING_SECRET, at, raw),
      ...(options.retry ? { 'x-slack-retry-num': options.retry, 'x-slack-retry-reason': 'http_timeout' } : {}),
    },
  });
};
