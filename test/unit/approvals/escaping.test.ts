/**
 * Attacks through what CodePipeline and people put into an approval: ExternalEntityLink and CustomData (anyone who
 * can edit the pipeline, or publish to the topic), pipeline/stage/action names, decider names and comments. Nothing
 * may become a Slack mention or link it did not come as, nor a script link on the page or in the email.
 */
import { describe, expect, it } from 'vitest';
import { approvalEmail, approvalPage, slackApprovalMessage } from '#core/approvals/render';
import { escapeHtml, escapeMrkdwn, httpUrl, slackLink } from '#core/escape';
import { pendingRecord } from './fakes.ts';

const now = new Date('2026-03-02T10:00:00.000Z');
const INJECTION = 'https://ok.example|PR> <!channel> <https://evil.example/phish';
/** The texts Slack parses as mrkdwn: the fallback `text` and every `{ type: 'mrkdwn', text }` (not plain_text). */
const mrkdwnTexts = (node: unknown, top = true): string[] => {
  if (Array.isArray(node)) return node.flatMap((n) => mrkdwnTexts(n, false));
  if (!node || typeof node !== 'object') return [];
  const o = node as Record<string, unknown>;
  const own = (top || o.type === 'mrkdwn') && typeof o.text === 'string' ? [o.text] : [];
  return [...own, ...Object.values(o).flatMap((v) => mrkdwnTexts(v, false))];
};
/** Every `<…>` Slack would parse as a link, mention or command in the message's mrkdwn text. */
const slackControls = (message: unknown): string[] =>
  mrkdwnTexts(typeof message === 'string' ? JSON.parse(message) : message).flatMap((t) => t.match(/<[^<>]*>/g) ?? []);

describe('escaping what reaches Slack, the page and email', () => {
  it('ExternalEntityLink cannot ping @channel or add a phishing link to the Slack message', () => {
    const msg = slackApprovalMessage(pendingRecord({ externalEntityLink: INJECTION }), 'C1', now);
    const controls = slackControls(msg);
    expect(controls.some((c) => c.includes('!channel'))).toBe(false);
    expect(controls.some((c) => c.includes('evil.example'))).toBe(false);
    expect(JSON.stringify(msg)).toContain('&lt;!channel&gt;');
  });

  it('links only http(s): javascript:, data: and relative links are shown as text everywhere', () => {
    for (const link of [
      'javascript:alert(document.cookie)',
      'data:text/html,<script>x</script>',
      '/relative',
      'JaVaScRiPt:alert(1)',
    ]) {
      const r = pendingRecord({ externalEntityLink: link, revision: { id: 'abc', url: link } });
      const slack = JSON.stringify(slackApprovalMessage(r, 'C1', now));
      expect(slackControls(slack).filter((c) => c.includes(link.slice(0, 8)))).toEqual([]);
      const page = approvalPage({ record: r, now, cspNonce: 'n' });
      expect(page).not.toMatch(/href="(javascript|data):/i);
      expect(page).not.toMatch(/href="\/relative/);
      const email = approvalEmail(r, 'ana@example.com', 'https://approvals.example.com/x', now);
      expect(email.html ?? '').not.toMatch(/href="(javascript|data):/i);
      expect(email.html ?? '').not.toContain('<script>');
    }
  });

  it('an http(s) review link stays a link, with Slack-reserved characters encoded', () => {
    const r = pendingRecord({ externalEntityLink: 'https://git.example.com/pr/42?a=1&b=x|y' });
    expect(JSON.stringify(slackApprovalMessage(r, 'C1', now))).toContain(
      '<https://git.example.com/pr/42?a=1&b=x%7Cy|Review link>',
    );
    expect(approvalPage({ record: r, now, cspNonce: 'n' })).toContain(
      'href="https://git.example.com/pr/42?a=1&amp;b=x%7Cy"',
    );
  });

  it('decider names, comments and pipeline names are escaped in the message text and its fallback', () => {
    const r = pendingRecord({
      pipeline: 'web<!here>',
      status: 'APPROVED',
      decidedBy: '<!channel> <https://evil.example|Ana>',
      decidedAt: '2026-03-02T10:05:00.000Z',
      comment: '<@U0BOSS> ok',
    });
    const msg = slackApprovalMessage(r, 'C1', now);
    expect(slackControls(msg)).toEqual([]);
    expect(msg.text).toContain('&lt;!channel&gt;');
  });

  it('the helpers: mrkdwn and HTML escaping, http(s) only', () => {
    expect(escapeMrkdwn('a & <b> <!here>')).toBe('a &amp; &lt;b&gt; &lt;!here&gt;');
    expect(escapeHtml(`"'<>&`)).toBe('&quot;&#39;&lt;&gt;&amp;');
    expect(httpUrl(INJECTION)).toBeUndefined();
    expect(httpUrl('https://ok.example/a b')).toBeUndefined();
    expect(httpUrl('ftp://ok.example/')).toBeUndefined();
    expect(httpUrl('https://ok.example/x>y')).toBe('https://ok.example/x%3Ey');
    expect(slackLink('javascript:alert(1)', '<label>')).toBe('&lt;label&gt;');
  });
});
