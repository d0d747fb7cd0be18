import { describe, expect, it } from 'vitest';
import { authorsFrom, checkVoter, resolveRoute } from '#core/approvals/policy';
import { ApprovalRoute } from '#core/settings';
import { settingsWith } from './fakes.ts';

describe('routing and approver policy', () => {
  it('the first matching rule overrides the defaults field by field', () => {
    const s = settingsWith({
      defaults: { slackChannels: ['C0ALL'], emails: ['ops@example.com'], policy: { allow: ['@example.com'] } },
      rules: [
        { pipeline: 'web-*', stage: 'Prod', slackChannels: ['C0PROD'], policy: { quorum: 2 } },
        { pipeline: '*', slackChannels: ['C0NEVER'] },
      ],
    });
    const prod = resolveRoute(s, 'web-app', 'Prod', 'Approve');
    expect(prod.slackChannels).toEqual(['C0PROD']);
    expect(prod.emails).toEqual(['ops@example.com']);
    expect(prod.policy).toEqual({
      allow: ['@example.com'],
      quorum: 2,
      allowSelfApproval: false,
      rejectNeedsReason: true,
    });
    expect(resolveRoute(s, 'api', 'Prod', 'Approve').slackChannels).toEqual(['C0NEVER']);
  });

  it('allow-list entries: Slack user ids, user groups, emails and @domains', () => {
    const route = ApprovalRoute.parse({
      policy: { allow: ['U0ANA', 'S0LEADS', 'bo@example.com', '@ops.example.com'] },
    });
    const ok = (v: Parameters<typeof checkVoter>[1]) => checkVoter(route, v, []).ok;
    expect(ok({ channel: 'slack', slackUserId: 'U0ANA' })).toBe(true);
    expect(ok({ channel: 'slack', slackUserId: 'U0CY', groups: ['S0LEADS'] })).toBe(true);
    expect(ok({ channel: 'email', email: 'BO@example.com' })).toBe(true);
    expect(ok({ channel: 'email', email: 'dee@ops.example.com' })).toBe(true);
    expect(ok({ channel: 'email', email: 'dee@notops.example.com.evil' })).toBe(false);
    expect(ok({ channel: 'slack', slackUserId: 'U0EVE' })).toBe(false);
  });

  it('self-approval is refused unless allowed; authors come from the trigger and commit summaries', () => {
    const authors = authorsFrom({ triggerDetail: 'arn:aws:sts::123456789012:assumed-role/Deployer/dev@example.com' }, [
      'Merge pull request #7 from x\n\nCo-authored-by: Pat <pat@example.com>',
    ]);
    expect(authors).toEqual(['dev@example.com', 'pat@example.com']);
    const route = ApprovalRoute.parse({ emails: ['dev@example.com'] });
    expect(checkVoter(route, { channel: 'email', email: 'dev@example.com' }, authors)).toMatchObject({
      ok: false,
      reason: 'self_approval',
    });
    const relaxed = ApprovalRoute.parse({ emails: ['dev@example.com'], policy: { allowSelfApproval: true } });
    expect(checkVoter(relaxed, { channel: 'email', email: 'dev@example.com' }, authors).ok).toBe(true);
  });
});
