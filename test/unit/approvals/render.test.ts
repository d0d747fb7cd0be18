import { describe, expect, it } from 'vitest';
import { approvalEmail, subjectLine } from '#core/approvals/render';
import { NOW, pendingRecord } from './fakes.ts';

const LINK = 'https://approvals.example.com/approvals/appr_0123456789abcdefghij?k=1';

describe('approval email subject', () => {
  it.each([
    ['CR/LF', 'web\r\nBcc: eve@example.com'],
    ['LF', 'web\nLocation: https://evil.example'],
    ['NEL', 'web\u0085Bcc: eve@example.com'],
    ['line separator', 'web\u2028Bcc: eve@example.com'],
    ['tab and NUL', 'web\t\u0000Bcc: eve@example.com'],
  ])('puts a pipeline name with %s on one line', (_l, pipeline) => {
    const mail = approvalEmail(pendingRecord({ pipeline }), 'ana@example.com', LINK, new Date(NOW));
    expect(mail.subject).not.toMatch(/[\p{Cc}\u2028\u2029]/u);
    expect(mail.subject).toMatch(/^Approval needed: web Bcc|^Approval needed: web Location/);
  });

  it('cleans the stage and action names and the reminder note too', () => {
    const r = pendingRecord({ stage: 'Prod\r\nX-A: 1', action: 'Approve\nX-B: 2' });
    const mail = approvalEmail(r, 'ana@example.com', LINK, new Date(NOW), 'Reminder:\n');
    expect(mail.subject).toBe('Reminder:  Approval needed: web / Prod X-A: 1 / Approve X-B: 2');
  });

  it('stays within 200 characters without cutting a surrogate pair', () => {
    const long = subjectLine(`Approval needed: ${'🚀'.repeat(300)}`);
    expect([...long]).toHaveLength(200);
    expect(long.endsWith('…')).toBe(true);
    expect(long).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    expect(subjectLine('Approval needed: web / Prod / Approve')).toBe('Approval needed: web / Prod / Approve');
  });
});
