import { describe, expect, it } from 'vitest';
import { renderEmail } from '#core/notify/render-email';
import type { NotificationView } from '#core/notify/view';

const view = (over: Partial<NotificationView>): NotificationView => ({
  pipeline: 'myPipeline',
  executionId: '12345678-1234-5678-abcd-12345678abcd',
  scope: 'pipeline',
  state: 'FAILED',
  time: '2026-03-02T10:00:00.000Z',
  failures: [],
  missing: [],
  ...over,
});

describe('pipeline-events email subject', () => {
  it.each([
    ['CR/LF', 'my\r\nBcc: eve@example.com'],
    ['NEL', 'my\u0085Bcc: eve@example.com'],
    ['line separator', 'my\u2028Bcc: eve@example.com'],
    ['paragraph separator', 'my\u2029Bcc: eve@example.com'],
    ['tab, vertical tab and NUL', 'my\t\u000b\u0000Bcc: eve@example.com'],
  ])('puts a pipeline name with %s on one line', (_l, pipeline) => {
    const subject = renderEmail(view({ pipeline }), ['a@example.com']).subject;
    expect(subject).not.toMatch(/[\p{Cc}\u2028\u2029]/u);
    expect(subject).toBe('[Stagecrew] my Bcc: eve@example.com FAILED');
  });

  it('cleans stage, action and failure summary too', () => {
    const subject = renderEmail(
      view({
        scope: 'action',
        stage: 'Deploy\u0085X',
        action: 'Create\u2028Y',
        failures: [{ stage: 'Deploy', action: 'Create', summary: 'boom\u000bZ\u0085W' }],
      }),
      ['a@example.com'],
    ).subject;
    expect(subject).not.toMatch(/[\p{Cc}\u2028\u2029]/u);
  });
});
