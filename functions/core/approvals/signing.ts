import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring, recipient-bound approval links and per-render nonces.
 *
 * A link carries only the opaque approval id plus `k` (key id), `r` (recipient), `e` (expiry, epoch seconds) and
 * `s` = HMAC-SHA256(key[k], ["link", k, id, r, e]). The page it renders carries a fresh nonce `n` and
 * `t` = HMAC-SHA256(key[k], ["nonce", k, id, r, e, n]); the POST must present both, and the nonce is consumed
 * with a conditional write, so a replayed form never records a second vote. Fields are JSON-array encoded so no
 * separator can be smuggled inside a recipient.
 */
export type LinkKeys = { current: { id: string; key: string }; previous: Record<string, string> };

export type LinkParams = { k: string; r: string; e: number; s: string };
export type NonceParams = { n: string; t: string };

/** How long a rendered page's nonce stays usable (a person reading and deciding, not a scanner replaying). */
export const NONCE_TTL_SECONDS = 3600;

const mac = (key: string, parts: readonly (string | number)[]): string =>
  createHmac('sha256', key).update(JSON.stringify(parts)).digest('base64url');

const keyFor = (keys: LinkKeys, kid: string): string | undefined =>
  kid === keys.current.id ? keys.current.key : Object.hasOwn(keys.previous, kid) ? keys.previous[kid] : undefined;

/** Constant-time comparison of two base64url MACs (length leak only, which is public). */
export const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export const signLink = (keys: LinkKeys, approvalId: string, recipient: string, expiresAt: Date): LinkParams => {
  const e = Math.floor(expiresAt.getTime() / 1000);
  const k = keys.current.id;
  return { k, r: recipient, e, s: mac(keys.current.key, ['link', k, approvalId, recipient, e]) };
};

export const linkUrl = (baseUrl: string, approvalId: string, p: LinkParams): string => {
  const q = new URLSearchParams({ k: p.k, r: p.r, e: String(p.e), s: p.s });
  return `${baseUrl.replace(/\/+$/, '')}/approvals/${encodeURIComponent(approvalId)}?${q.toString()}`;
};

export type LinkCheck = { ok: true } | { ok: false; reason: 'bad_signature' | 'link_expired' };

/** Verifies a link's signature (any known key id) in constant time, then its expiry. */
export const verifyLink = (keys: LinkKeys, approvalId: string, p: Partial<LinkParams>, now: Date): LinkCheck => {
  if (typeof p.k !== 'string' || typeof p.r !== 'string' || typeof p.s !== 'string') {
    return { ok: false, reason: 'bad_signature' };
  }
  if (typeof p.e !== 'number' || !Number.isSafeInteger(p.e)) return { ok: false, reason: 'bad_signature' };
  const key = keyFor(keys, p.k);
  if (key === undefined) return { ok: false, reason: 'bad_signature' };
  if (!safeEqual(mac(key, ['link', p.k, approvalId, p.r, p.e]), p.s)) return { ok: false, reason: 'bad_signature' };
  if (now.getTime() >= p.e * 1000) return { ok: false, reason: 'link_expired' };
  return { ok: true };
};

export const issueNonce = (
  keys: LinkKeys,
  approvalId: string,
  link: LinkParams,
  now: Date,
  random: () => string = () => randomBytes(18).toString('base64url'),
): NonceParams => {
  const n = `${Math.floor(now.getTime() / 1000)}.${random()}`;
  const key = keyFor(keys, link.k) ?? keys.current.key;
  return { n, t: mac(key, ['nonce', link.k, approvalId, link.r, link.e, n]) };
};

export type NonceCheck = { ok: true } | { ok: false; reason: 'bad_signature' | 'nonce_stale' };

export const verifyNonce = (
  keys: LinkKeys,
  approvalId: string,
  link: LinkParams,
  nonce: Partial<NonceParams>,
  now: Date,
): NonceCheck => {
  if (typeof nonce.n !== 'string' || typeof nonce.t !== 'string' || !/^\d{1,12}\.[A-Za-z0-9_-]{8,64}$/.test(nonce.n)) {
    return { ok: false, reason: 'bad_signature' };
  }
  const key = keyFor(keys, link.k);
  if (key === undefined) return { ok: false, reason: 'bad_signature' };
  if (!safeEqual(mac(key, ['nonce', link.k, approvalId, link.r, link.e, nonce.n]), nonce.t)) {
    return { ok: false, reason: 'bad_signature' };
  }
  const issued = Number(nonce.n.split('.')[0]) * 1000;
  if (issued > now.getTime() + 60_000 || now.getTime() - issued > NONCE_TTL_SECONDS * 1000) {
    return { ok: false, reason: 'nonce_stale' };
  }
  return { ok: true };
};

/** Parses `e` from a query or form value: digits only. */
export const parseExpiry = (raw: string | undefined): number | undefined =>
  raw !== undefined && /^\d{1,12}$/.test(raw) ? Number(raw) : undefined;

/** Slack request signing (v0): HMAC-SHA256(signingSecret, `v0:${timestamp}:${rawBody}`), hex, `v0=` prefix. */
export const SLACK_WINDOW_SECONDS = 300;

export type SlackCheck = { ok: true } | { ok: false; reason: string };

export const verifySlackSignature = (
  signingSecret: string,
  headers: { timestamp?: string; signature?: string },
  rawBody: Buffer,
  now: Date,
): SlackCheck => {
  if (signingSecret === '') return { ok: false, reason: 'slack signing secret is not configured' };
  const { timestamp, signature } = headers;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'missing or malformed timestamp' };
  if (!signature || !/^v0=[0-9a-f]{64}$/.test(signature))
    return { ok: false, reason: 'missing or malformed signature' };
  // Both directions: a stale timestamp is a replay, a future one a forged clock.
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > SLACK_WINDOW_SECONDS) {
    return { ok: false, reason: 'timestamp outside the 5-minute window' };
  }
  const expected = `v0=${createHmac('sha256', signingSecret)
    .update(Buffer.concat([Buffer.from(`v0:${timestamp}:`), rawBody]))
    .digest('hex')}`;
  return safeEqual(expected, signature) ? { ok: true } : { ok: false, reason: 'signature mismatch' };
};

/** Signs a Slack request the way Slack does (tests and the local cloud's Slack emulator). */
export const signSlackRequest = (signingSecret: string, timestamp: number, rawBody: string | Buffer): string =>
  `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest('hex')}`;

/** Link keys from the Stagecrew secret (current key id and key, plus previous keys accepted during rotation). */
export const linkKeysFrom = (s: {
  linkKeyId: string;
  linkSigningKey: string;
  previousLinkKeys: Record<string, string>;
}): LinkKeys => ({ current: { id: s.linkKeyId, key: s.linkSigningKey }, previous: s.previousLinkKeys });
