import { describe, expect, it } from 'vitest';
import {
  issueNonce,
  linkUrl,
  signLink,
  signSlackRequest,
  verifyLink,
  verifyNonce,
  verifySlackSignature,
} from '#core/approvals/signing';
import { KEYS } from './fakes.ts';

const now = new Date('2026-03-02T10:00:00Z');
const exp = new Date('2026-03-03T10:00:00Z');

describe('approval links', () => {
  const link = signLink(KEYS, 'appr_0123456789abcdefghij', 'ana@example.com', exp);

  it('verifies a link it signed, bound to id, recipient and expiry', () => {
    expect(link).toMatchObject({ k: 'k2', r: 'ana@example.com', e: exp.getTime() / 1000 });
    expect(verifyLink(KEYS, 'appr_0123456789abcdefghij', link, now)).toEqual({ ok: true });
    expect(verifyLink(KEYS, 'appr_other0123456789abcd', link, now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyLink(KEYS, 'appr_0123456789abcdefghij', { ...link, r: 'eve@example.com' }, now).ok).toBe(false);
    expect(verifyLink(KEYS, 'appr_0123456789abcdefghij', { ...link, e: link.e + 60 }, now).ok).toBe(false);
  });

  it('reports an expired link as expired, not as forged', () => {
    expect(verifyLink(KEYS, 'appr_0123456789abcdefghij', link, exp)).toEqual({ ok: false, reason: 'link_expired' });
  });

  it('accepts links signed with a previous key during rotation, and rejects unknown key ids', () => {
    const old = signLink(
      { current: { id: 'k1', key: KEYS.previous.k1 }, previous: {} },
      'appr_0123456789abcdefghij',
      'a@b.co',
      exp,
    );
    expect(verifyLink(KEYS, 'appr_0123456789abcdefghij', old, now)).toEqual({ ok: true });
    const rotatedOut = { current: KEYS.current, previous: {} };
    expect(verifyLink(rotatedOut, 'appr_0123456789abcdefghij', old, now).ok).toBe(false);
    expect(verifyLink(KEYS, 'appr_0123456789abcdefghij', { ...link, k: 'toString' }, now).ok).toBe(false);
  });

  it('renders the URL with only the opaque id and the signed query', () => {
    const url = new URL(linkUrl('https://x.example/prod/', 'appr_0123456789abcdefghij', link));
    expect(url.pathname).toBe('/prod/approvals/appr_0123456789abcdefghij');
    expect([...url.searchParams.keys()]).toEqual(['k', 'r', 'e', 's']);
  });

  it('binds nonces to the link and ages them out', () => {
    const n = issueNonce(KEYS, 'appr_0123456789abcdefghij', link, now, () => 'abcdefghijabcdefghij');
    expect(verifyNonce(KEYS, 'appr_0123456789abcdefghij', link, n, now)).toEqual({ ok: true });
    expect(verifyNonce(KEYS, 'appr_0123456789abcdefghij', { ...link, r: 'x@y.z' }, n, now).ok).toBe(false);
    expect(verifyNonce(KEYS, 'appr_0123456789abcdefghij', link, { ...n, n: n.n.replace('a', 'b') }, now).ok).toBe(
      false,
    );
    expect(verifyNonce(KEYS, 'appr_0123456789abcdefghij', link, n, new Date(now.getTime() + 3601_000))).toEqual({
      ok: false,
      reason: 'nonce_stale',
    });
  });
});

describe('Slack v0 request signatures', () => {
  // The worked example from Slack's "Verifying requests from Slack" documentation.
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const ts = '1531420618';
  const body = Buffer.from(
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  );
  const documented = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
  const at = (offsetS: number) => new Date((Number(ts) + offsetS) * 1000);

  it("matches Slack's documented example", () => {
    expect(signSlackRequest(secret, Number(ts), body)).toBe(documented);
    expect(verifySlackSignature(secret, { timestamp: ts, signature: documented }, body, at(10))).toEqual({ ok: true });
  });

  it('rejects stale and future timestamps outside ±5 minutes, accepts the edges', () => {
    expect(verifySlackSignature(secret, { timestamp: ts, signature: documented }, body, at(300)).ok).toBe(true);
    expect(verifySlackSignature(secret, { timestamp: ts, signature: documented }, body, at(-300)).ok).toBe(true);
    expect(verifySlackSignature(secret, { timestamp: ts, signature: documented }, body, at(301))).toEqual({
      ok: false,
      reason: 'timestamp outside the 5-minute window',
    });
    expect(verifySlackSignature(secret, { timestamp: ts, signature: documented }, body, at(-301)).ok).toBe(false);
  });

  it('rejects a changed body, a wrong secret, a missing or malformed header and an unset secret', () => {
    const changed = Buffer.concat([body, Buffer.from('&x=1')]);
    expect(verifySlackSignature(secret, { timestamp: ts, signature: documented }, changed, at(0)).ok).toBe(false);
    expect(verifySlackSignature('other', { timestamp: ts, signature: documented }, body, at(0)).ok).toBe(false);
    expect(verifySlackSignature(secret, { timestamp: ts }, body, at(0)).ok).toBe(false);
    expect(verifySlackSignature(secret, { timestamp: 'abc', signature: documented }, body, at(0)).ok).toBe(false);
    expect(verifySlackSignature(secret, { timestamp: ts, signature: documented.toUpperCase() }, body, at(0)).ok).toBe(
      false,
    );
    expect(verifySlackSignature('', { timestamp: ts, signature: documented }, body, at(0)).ok).toBe(false);
  });

  it('verifies over raw bytes (a non-ASCII body is not re-encoded)', () => {
    const raw = Buffer.from('payload=%7B%22t%22%3A%22%C3%A9%22%7D\u00e9', 'utf8');
    const sig = signSlackRequest(secret, Number(ts), raw);
    expect(verifySlackSignature(secret, { timestamp: ts, signature: sig }, raw, at(0)).ok).toBe(true);
    expect(
      verifySlackSignature(secret, { timestamp: ts, signature: sig }, Buffer.from(raw.toString('latin1')), at(0)).ok,
    ).toBe(false);
  });
});
