import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type DecideDeps, type DecideResult, decide } from '#core/approvals/decide';
import { ApprovalRefusedError, refusalFor } from '#core/approvals/errors';
import { type ApprovalRecord, describeStatus, ID_PATTERN, TERMINAL, type Voter } from '#core/approvals/model';
import { syncMessages, type Warn } from '#core/approvals/notify';
import {
  checkSlackOrigin,
  checkVoter,
  needsGroups,
  needsVerifiedEmail,
  type PolicyCheck,
  UNVERIFIED_IDENTITY,
} from '#core/approvals/policy';
import {
  ACTION_APPROVE,
  ACTION_REJECT,
  approvalPage,
  errorPage,
  REJECT_VIEW,
  rejectReasonView,
} from '#core/approvals/render';
import { RejectViewMetadata, SlackInteraction } from '#core/approvals/schemas';
import {
  issueNonce,
  type LinkKeys,
  type LinkParams,
  NONCE_TTL_SECONDS,
  parseExpiry,
  verifyLink,
  verifyNonce,
  verifySlackSignature,
} from '#core/approvals/signing';
import { escapeMrkdwn } from '#core/escape';
import type { SlackGateway } from '#core/ports';

/** Resolves a Slack user to the identity the policy checks (email, display name, user groups). */
export type SlackDirectory = {
  user(userId: string): Promise<{ email?: string; name?: string }>;
  /** The subset of `groupIds` the user belongs to. */
  groupsOf(userId: string, groupIds: readonly string[]): Promise<string[]>;
  /** Whether the user is a member of the channel (`conversations.members`). */
  isMember(channelId: string, userId: string): Promise<boolean>;
};

/**
 * A Slack interaction handed to a second, asynchronous invocation, so Slack gets its answer within its 3-second
 * window whatever CodePipeline, DynamoDB or Slack lookups cost. It carries the raw signed request.
 */
export type DeferredSlack = {
  body: string;
  timestamp: string;
  signature: string;
  requestId: string;
  /** Slack's `X-Slack-Retry-Num`: this is Slack delivering the same interaction again. */
  retry?: string;
};

export type ApiDeps = DecideDeps & {
  /** Hands a verified interaction to an asynchronous invocation (absent: it is processed inline). */
  defer?: (interaction: DeferredSlack) => Promise<void>;
  /** Answers on the interaction's `response_url` (ephemeral); absent: chat.postEphemeral. */
  respond?: (responseUrl: string, text: string) => Promise<void>;
  slack?: SlackGateway;
  directory?: SlackDirectory;
  keys: () => Promise<LinkKeys>;
  slackSigningSecret: () => Promise<string>;
  baseUrl: string;
  warn: Warn;
  random?: () => string;
};

type Result = APIGatewayProxyStructuredResultV2;

const securityHeaders = (cspNonce: string): Record<string, string> => ({
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex, nofollow',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': `default-src 'none'; style-src 'nonce-${cspNonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
});

const html = (status: number, body: string, cspNonce: string, head = false): Result => ({
  statusCode: status,
  headers: securityHeaders(cspNonce),
  body: head ? '' : body,
});

/** For responses that are not pages (JSON, 405, errors): nothing may render, frame or sniff them either. */
export const BASELINE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
});

const json = (status: number, body: unknown): Result => ({
  statusCode: status,
  headers: { ...BASELINE_HEADERS, 'content-type': 'application/json' },
  body: body === undefined ? '' : JSON.stringify(body),
});

/** The raw request bytes: HTTP API base64-encodes bodies it does not consider text. */
export const rawBody = (event: APIGatewayProxyEventV2): Buffer =>
  event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');

const header = (event: APIGatewayProxyEventV2, name: string): string | undefined => {
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === name) return v;
  return undefined;
};

/** Routes the approval API's three HTTP API routes. Never throws for a client's mistake: typed status codes. */
export const handleApprovalHttp = async (event: APIGatewayProxyEventV2, deps: ApiDeps): Promise<Result> => {
  const method = event.requestContext.http.method.toUpperCase();
  const path = event.rawPath.replace(/\/+$/, '');
  if (path.endsWith('/slack/interactions') && method === 'POST') return slackInteractions(event, deps);
  const m = /\/approvals\/([^/]+)(\/decision)?$/.exec(path);
  if (!m) return json(404, { error: 'not_found' });
  const id = decodeSegment(m[1] ?? '');
  if (id === undefined) {
    // A path no approval link produces (e.g. `%ZZ`): the client's mistake, answered, never thrown as a 500.
    const csp = (deps.random ?? rand)();
    const page = errorPage('Bad request', 'The approval id in this address is not valid percent-encoding.', csp);
    return html(400, page, csp, method === 'HEAD');
  }
  if (m[2] && method === 'POST') return postDecision(event, id, deps);
  if (!m[2] && (method === 'GET' || method === 'HEAD')) return getPage(event, id, deps, method === 'HEAD');
  return { statusCode: 405, headers: { ...BASELINE_HEADERS, allow: m[2] ? 'POST' : 'GET, HEAD' }, body: '' };
};

/** `decodeURIComponent` throws a URIError on malformed percent-encoding; that is the client's mistake. */
const decodeSegment = (segment: string): string | undefined => {
  try {
    return decodeURIComponent(segment);
  } catch (err) {
    if (err instanceof URIError) return undefined;
    throw err;
  }
};

const linkFrom = (src: Record<string, string | undefined>): Partial<LinkParams> => ({
  k: src.k,
  r: src.r,
  e: parseExpiry(src.e),
  s: src.s,
});

const formAction = (baseUrl: string, id: string): string => {
  let prefix = '';
  try {
    prefix = new URL(baseUrl).pathname.replace(/\/+$/, '');
  } catch {
    prefix = '';
  }
  return `${prefix}/approvals/${encodeURIComponent(id)}/decision`;
};

const statusPageCode = (r: ApprovalRecord): number => refusalFor(r).status;

/** GET/HEAD: renders the page. Reads only: no write of any kind happens here. */
const getPage = async (event: APIGatewayProxyEventV2, id: string, deps: ApiDeps, head: boolean): Promise<Result> => {
  const csp = (deps.random ?? rand)();
  if (!ID_PATTERN.test(id)) return html(404, errorPage('Not found', 'There is no such approval.', csp), csp, head);
  const link = linkFrom(event.queryStringParameters ?? {});
  const keys = await deps.keys();
  const now = deps.clock.now();
  const check = verifyLink(keys, id, link, now);
  if (!check.ok && check.reason === 'bad_signature') {
    return html(
      403,
      errorPage('Link not valid', 'This approval link is not valid. Use the link from your email.', csp),
      csp,
      head,
    );
  }
  const record = await deps.store.get(id);
  if (!record) return html(404, errorPage('Not found', 'There is no such approval.', csp), csp, head);
  if (TERMINAL.has(record.status) || record.status === 'DECIDING') {
    return html(
      statusPageCode(record),
      approvalPage({ record, now, cspNonce: csp, message: statusMessage(record) }),
      csp,
      head,
    );
  }
  if (!check.ok || now.getTime() >= Date.parse(record.expiresAt)) {
    return html(410, approvalPage({ record, now, cspNonce: csp, message: 'This link has expired.' }), csp, head);
  }
  const full = link as LinkParams;
  const nonce = issueNonce(keys, id, full, now, deps.random);
  const fields = { k: full.k, r: full.r, e: String(full.e), s: full.s, n: nonce.n, t: nonce.t };
  return html(
    200,
    approvalPage({
      record,
      now,
      cspNonce: csp,
      recipient: full.r,
      form: { action: formAction(deps.baseUrl, id), fields, rejectNeedsReason: record.route.policy.rejectNeedsReason },
    }),
    csp,
    head,
  );
};

const statusMessage = (r: ApprovalRecord): string => {
  if (r.status === 'APPROVED' || r.status === 'REJECTED') {
    return `Already decided by ${r.decidedBy ?? '?'} at ${r.decidedAt ?? '?'}: ${r.status.toLowerCase()}${r.comment ? ` (“${r.comment}”)` : ''}.`;
  }
  return `${describeStatus(r)}. This link no longer works.`;
};

const postDecision = async (event: APIGatewayProxyEventV2, id: string, deps: ApiDeps): Promise<Result> => {
  const csp = (deps.random ?? rand)();
  const now = deps.clock.now();
  const ctype = header(event, 'content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded/i.test(ctype)) {
    return html(415, errorPage('Unsupported', 'Submit the form on the approval page.', csp), csp);
  }
  if (!ID_PATTERN.test(id)) return html(404, errorPage('Not found', 'There is no such approval.', csp), csp);
  const form = Object.fromEntries(new URLSearchParams(rawBody(event).toString('utf8')));
  const link = linkFrom(form);
  const keys = await deps.keys();
  const linkOk = verifyLink(keys, id, link, now);
  if (!linkOk.ok) {
    return linkOk.reason === 'link_expired'
      ? html(410, errorPage('Link expired', 'This approval link has expired.', csp), csp)
      : html(403, errorPage('Link not valid', 'This approval link is not valid.', csp), csp);
  }
  const full = link as LinkParams;
  const nonceOk = verifyNonce(keys, id, full, { n: form.n, t: form.t }, now);
  if (!nonceOk.ok) {
    return nonceOk.reason === 'nonce_stale'
      ? html(409, errorPage('Page expired', 'This page is too old. Open the link again to decide.', csp), csp)
      : html(403, errorPage('Form not valid', 'This form was not issued by Stagecrew.', csp), csp);
  }
  const decision = form.decision;
  if (decision !== 'approve' && decision !== 'reject') {
    return html(400, errorPage('Choose', 'Choose Approve or Reject.', csp), csp);
  }
  let result: DecideResult;
  try {
    result = await decide(
      {
        approvalId: id,
        voter: { channel: 'email', email: full.r },
        decision,
        comment: form.comment,
        nonce: form.n,
        nonceExpiresAt: new Date(now.getTime() + NONCE_TTL_SECONDS * 1000),
        request: {
          requestId: event.requestContext.requestId,
          sourceIp: event.requestContext.http.sourceIp,
          userAgent: event.requestContext.http.userAgent,
        },
      },
      deps,
    );
  } catch (err) {
    if (!(err instanceof ApprovalRefusedError)) throw err;
    if (!err.record) return html(err.status, errorPage('Not recorded', err.message, csp), csp);
    const record = err.record;
    if (err.reason === 'reason_required') {
      // Nothing was consumed: show the form again (fresh nonce) with the reason asked for.
      const again = issueNonce(keys, id, full, now, deps.random);
      const fields = { k: full.k, r: full.r, e: String(full.e), s: full.s, n: again.n, t: again.t };
      const form = { action: formAction(deps.baseUrl, id), fields, rejectNeedsReason: true };
      const page = approvalPage({
        record,
        now,
        cspNonce: csp,
        recipient: full.r,
        form,
        message: 'Please give a reason to reject.',
      });
      return html(400, page, csp);
    }
    const message =
      err.reason === 'already_decided' && (record.status === 'APPROVED' || record.status === 'REJECTED')
        ? statusMessage(record)
        : `Not recorded: ${err.message}.`;
    return html(err.status, approvalPage({ record, now, cspNonce: csp, message, heading: 'Not recorded' }), csp);
  }
  await syncMessages(result.record, deps);
  const r = result.record;
  const message =
    result.kind === 'decided'
      ? `Thank you. ${r.status === 'APPROVED' ? 'Approved' : 'Rejected'}: CodePipeline has been told.`
      : `Thank you. Your approval is recorded (${r.approveCount} of ${r.route.policy.quorum}).`;
  return html(200, approvalPage({ record: r, now, cspNonce: csp, message, heading: 'Decision recorded' }), csp);
};

const rand = () => randomBytes(16).toString('base64url');

/** Slack needs an answer within 3 s: a throttled decision stops retrying after this and says "try again". */
const SLACK_RETRY_BUDGET_MS = 1_500;

// ---------------------------------------------------------------- Slack

type SlackUser = { id: string; name?: string; username?: string };
type SlackCheck = { ok: true; voter: Voter } | Extract<PolicyCheck, { ok: false }>;

/**
 * Who clicked, and may that click count? In order: the click comes from a message Stagecrew posted for this
 * approval; the user resolves to an email (users.info) — required when votes are counted by email (quorum above 1,
 * or an allow-list naming emails or domains); with an empty allow-list, the user is a member of the channel the
 * approval was posted to (checked with conversations.members, not assumed from the click). The allow-list and
 * self-approval rules follow in `checkVoter`. A lookup that fails refuses rather than guesses.
 */
const slackClick = async (
  record: ApprovalRecord,
  user: SlackUser,
  where: { channel?: string; ts?: string },
  deps: ApiDeps,
): Promise<SlackCheck> => {
  const origin = checkSlackOrigin(record.slackPosts, where);
  if (!origin.ok) return origin;
  const route = record.route;
  const voter: Voter = { channel: 'slack', slackUserId: user.id, name: user.name ?? user.username };
  if (deps.directory) {
    try {
      const info = await deps.directory.user(user.id);
      voter.email = info.email;
      voter.name = info.name ?? voter.name;
      if (needsGroups(route)) {
        voter.groups = await deps.directory.groupsOf(
          user.id,
          route.policy.allow.filter((e) => /^S[A-Z0-9]{2,}$/.test(e)),
        );
      }
    } catch (err) {
      deps.warn('could not resolve the Slack user', { error: (err as Error).message });
    }
  }
  if (!voter.email && needsVerifiedEmail(route)) return UNVERIFIED_IDENTITY;
  if (route.policy.allow.length === 0) {
    // "Anyone the approval was routed to": members of the channel it was posted in, checked.
    let member = false;
    try {
      member = deps.directory ? await deps.directory.isMember(where.channel as string, user.id) : false;
    } catch (err) {
      deps.warn('could not check the Slack channel membership', { error: (err as Error).message });
      return {
        ok: false,
        reason: 'identity_unverified',
        message: 'Stagecrew could not check that you are a member of this channel; try again, or use your email link',
      };
    }
    if (!member) {
      return {
        ok: false,
        reason: 'forbidden',
        message: 'you are not a member of the channel this approval was posted to',
      };
    }
  }
  return { ok: true, voter };
};

/** Audits a refused Slack click (who, which approval, why). */
const auditRefusal = async (
  record: ApprovalRecord,
  userId: string,
  decision: 'approve' | 'reject',
  reason: string,
  requestId: string,
  deps: ApiDeps,
) =>
  deps.store.audit({
    approvalId: record.id,
    pipeline: record.pipeline,
    executionId: record.executionId,
    at: deps.clock.now().toISOString(),
    event: 'refused',
    actor: `slack:${userId}`,
    channel: 'slack',
    decision,
    reason,
    requestId,
  });

const slackInteractions = async (event: APIGatewayProxyEventV2, deps: ApiDeps): Promise<Result> => {
  const body = rawBody(event);
  const signed = {
    timestamp: header(event, 'x-slack-request-timestamp'),
    signature: header(event, 'x-slack-signature'),
  };
  const check = verifySlackSignature(await deps.slackSigningSecret(), signed, body, deps.clock.now());
  if (!check.ok) {
    deps.warn('rejected a Slack request', { reason: check.reason });
    return json(401, { error: 'invalid_signature' });
  }
  const p = parseInteraction(body);
  if (p === 'bad') return json(400, { error: 'bad_payload' });
  // Other interaction types (shortcuts, other apps' buttons) are acknowledged and ignored.
  if (p === undefined) return json(200, undefined);
  const ctx: SlackContext = {
    requestId: event.requestContext.requestId,
    retry: header(event, 'x-slack-retry-num'),
    deferred: false,
  };
  if (deps.defer && isOurs(p)) {
    // Reject with a required reason opens the modal now: Slack's trigger_id lasts 3 seconds. The vote itself, and
    // every lookup it needs, happens in the asynchronous invocation, answered through response_url.
    if (p.type === 'block_actions' && p.actions[0]?.action_id === ACTION_REJECT) {
      const opened = await openReasonModal(p, deps);
      if (opened) return json(200, undefined);
    }
    try {
      await deps.defer({
        body: body.toString('base64'),
        timestamp: signed.timestamp ?? '',
        signature: signed.signature ?? '',
        requestId: ctx.requestId,
        ...(ctx.retry ? { retry: ctx.retry } : {}),
      });
      return json(200, p.type === 'view_submission' ? { response_action: 'clear' } : undefined);
    } catch (err) {
      // Could not hand it over: process it now rather than lose the click.
      deps.warn('could not defer the Slack interaction; processing it inline', { error: (err as Error).message });
    }
  }
  return p.type === 'block_actions' ? blockAction(p, ctx, deps) : viewSubmission(p, ctx, deps);
};

/**
 * The asynchronous half: the signature is checked again (against the time Slack signed it; the request was
 * verified in its window when it arrived), then the interaction is processed as if inline.
 */
export const handleDeferredSlack = async (d: DeferredSlack, deps: ApiDeps): Promise<void> => {
  const body = Buffer.from(d.body, 'base64');
  const signedAt = new Date(Number(d.timestamp) * 1000);
  const check = verifySlackSignature(
    await deps.slackSigningSecret(),
    { timestamp: d.timestamp, signature: d.signature },
    body,
    Number.isFinite(signedAt.getTime()) ? signedAt : new Date(0),
  );
  if (!check.ok) {
    deps.warn('rejected a deferred Slack interaction', { reason: check.reason });
    return;
  }
  const p = parseInteraction(body);
  if (p === 'bad' || p === undefined) return;
  const ctx: SlackContext = { requestId: d.requestId, ...(d.retry ? { retry: d.retry } : {}), deferred: true };
  if (p.type === 'block_actions') await blockAction(p, ctx, deps);
  else await viewSubmission(p, ctx, deps);
};

type SlackContext = { requestId: string; retry?: string; deferred: boolean };

const parseInteraction = (body: Buffer): SlackInteraction | 'bad' | undefined => {
  const payloadRaw = new URLSearchParams(body.toString('utf8')).get('payload');
  let parsed: ReturnType<typeof SlackInteraction.safeParse>;
  try {
    parsed = SlackInteraction.safeParse(JSON.parse(payloadRaw ?? ''));
  } catch {
    return 'bad';
  }
  return parsed.success ? parsed.data : undefined;
};

const isOurs = (p: SlackInteraction): boolean =>
  p.type === 'block_actions'
    ? p.actions[0]?.action_id === ACTION_APPROVE || p.actions[0]?.action_id === ACTION_REJECT
    : p.view.callback_id === REJECT_VIEW;

/** Opens the reason modal for a Reject on the posted message of a pending approval that requires a reason. */
const openReasonModal = async (p: BlockActions, deps: ApiDeps): Promise<boolean> => {
  const id = p.actions[0]?.value ?? '';
  const record = ID_PATTERN.test(id) ? await deps.store.get(id) : undefined;
  const where = { channel: p.container?.channel_id, ts: p.container?.message_ts };
  if (record?.status !== 'PENDING' || !record.route.policy.rejectNeedsReason) return false;
  if (!checkSlackOrigin(record.slackPosts, where).ok || !deps.slack || !p.trigger_id) return false;
  await deps.slack.openView(
    p.trigger_id,
    rejectReasonView(record, { channel: where.channel ?? '', ts: where.ts ?? '' }),
  );
  return true;
};

/** Repeats of an answer Slack's own retry would produce (the first delivery already voted). */
const REPEAT_REFUSALS = [/^Not recorded: you already voted/, /^Already decided by/];

type BlockActions = Extract<SlackInteraction, { type: 'block_actions' }>;
type ViewSubmission = Extract<SlackInteraction, { type: 'view_submission' }>;

const blockAction = async (p: BlockActions, ctx: SlackContext, deps: ApiDeps): Promise<Result> => {
  const action = p.actions[0];
  if (!action || (action.action_id !== ACTION_APPROVE && action.action_id !== ACTION_REJECT))
    return json(200, undefined);
  const id = action.value ?? '';
  const channel = p.channel?.id ?? p.container?.channel_id ?? '';
  const ts = p.message?.ts ?? p.container?.message_ts ?? '';
  const ephemeral = async (text: string) => {
    // Slack delivering the same click again: the first delivery answered already.
    if (ctx.retry && REPEAT_REFUSALS.some((r) => r.test(text))) return;
    // Plain sentences that may quote names and comments: escaped, so they cannot mention or link.
    const safe = escapeMrkdwn(text);
    if (ctx.deferred && p.response_url && deps.respond) {
      try {
        await deps.respond(p.response_url, safe);
        return;
      } catch (err) {
        deps.warn('could not answer on response_url; posting an ephemeral message', { error: (err as Error).message });
      }
    }
    try {
      if (deps.slack && channel) await deps.slack.postEphemeral({ channel, user: p.user.id, text: safe });
    } catch (err) {
      deps.warn('could not send an ephemeral reply', { error: (err as Error).message });
    }
  };
  const record = ID_PATTERN.test(id) ? await deps.store.get(id) : undefined;
  if (!record) {
    await ephemeral('This approval is unknown to Stagecrew.');
    return json(200, undefined);
  }
  const decision = action.action_id === ACTION_APPROVE ? 'approve' : 'reject';
  const click = await slackClick(
    record,
    p.user,
    { channel: p.container?.channel_id, ts: p.container?.message_ts },
    deps,
  );
  if (!click.ok) {
    await auditRefusal(record, p.user.id, decision, click.reason, ctx.requestId, deps);
    await ephemeral(`Not recorded: ${click.message}.`);
    return json(200, undefined);
  }
  const voter = click.voter;
  if (action.action_id === ACTION_REJECT && record.route.policy.rejectNeedsReason && record.status === 'PENDING') {
    // Check the policy before opening the modal, so an unauthorized click gets its answer at once.
    const allowed = checkVoter(record.route, voter, record.authors);
    if (!allowed.ok) {
      await auditRefusal(record, p.user.id, 'reject', allowed.reason, ctx.requestId, deps);
      await ephemeral(`Not recorded: ${allowed.message}.`);
      return json(200, undefined);
    }
    if (deps.slack && p.trigger_id) {
      await deps.slack.openView(p.trigger_id, rejectReasonView(record, { channel, ts }));
      return json(200, undefined);
    }
  }
  await slackDecide(record.id, voter, decision, undefined, ctx.requestId, deps, ephemeral);
  return json(200, undefined);
};

const viewSubmission = async (p: ViewSubmission, ctx: SlackContext, deps: ApiDeps): Promise<Result> => {
  if (p.view.callback_id !== REJECT_VIEW) return json(200, undefined);
  // Slack echoes the metadata rejectReasonView set, but it is still input: parse it, then check its shape.
  let metaJson: unknown;
  try {
    metaJson = JSON.parse(p.view.private_metadata);
  } catch {
    metaJson = undefined;
  }
  const parsedMeta = RejectViewMetadata.safeParse(metaJson);
  if (!parsedMeta.success) {
    deps.warn('refused a Slack reject form with damaged metadata', { reason: 'bad_private_metadata' });
    return json(200, { response_action: 'errors', errors: { reason: 'This form is damaged; click Reject again.' } });
  }
  const meta = parsedMeta.data;
  // Inline, a refusal is shown in the modal; deferred (the modal is already closed), as an ephemeral message in the
  // channel the approval was posted to.
  const refuse = async (text: string): Promise<Result> => {
    if (!ctx.deferred) return json(200, { response_action: 'errors', errors: { reason: text } });
    if (ctx.retry && REPEAT_REFUSALS.some((r) => r.test(text))) return json(200, undefined);
    if (deps.slack && meta.channel) {
      try {
        await deps.slack.postEphemeral({ channel: meta.channel, user: p.user.id, text: escapeMrkdwn(text) });
      } catch (err) {
        deps.warn('could not send an ephemeral reply', { error: (err as Error).message });
      }
    }
    return json(200, undefined);
  };
  const reason = p.view.state.values.reason?.value?.value ?? '';
  const record = ID_PATTERN.test(meta.id) ? await deps.store.get(meta.id) : undefined;
  if (!record) return refuse('This approval is unknown.');
  // The modal was opened from the posted message; its metadata names that message (Slack echoes it, signed).
  const click = await slackClick(record, p.user, { channel: meta.channel, ts: meta.ts }, deps);
  if (!click.ok) {
    await auditRefusal(record, p.user.id, 'reject', click.reason, ctx.requestId, deps);
    return refuse(`Not recorded: ${click.message}.`);
  }
  const voter = click.voter;
  let failure: string | undefined;
  await slackDecide(record.id, voter, 'reject', reason, ctx.requestId, deps, async (text) => {
    failure = text;
  });
  return failure ? refuse(failure) : json(200, { response_action: 'clear' });
};

const slackDecide = async (
  id: string,
  voter: Voter,
  decision: 'approve' | 'reject',
  comment: string | undefined,
  requestId: string,
  deps: ApiDeps,
  onRefused: (text: string) => Promise<void>,
) => {
  try {
    const result = await decide(
      {
        approvalId: id,
        voter,
        decision,
        comment,
        request: { requestId },
        retryUntil: new Date(deps.clock.now().getTime() + SLACK_RETRY_BUDGET_MS),
      },
      deps,
    );
    await syncMessages(result.record, deps);
  } catch (err) {
    if (!(err instanceof ApprovalRefusedError)) throw err;
    await onRefused(
      err.reason === 'already_decided' && err.record ? statusMessage(err.record) : `Not recorded: ${err.message}.`,
    );
  }
};
