import { describe, expect, it } from 'vitest';
import { routeTransition, ruleMatches } from '#core/notify/route';
import { NotificationRule } from '#core/settings';

const rule = (r: Record<string, unknown>) => NotificationRule.parse(r);
const t = (pipeline: string, state: string, scope: 'pipeline' | 'stage' | 'action' = 'pipeline') =>
  ({ pipeline, state, scope }) as Parameters<typeof ruleMatches>[1];

describe('notification routing', () => {
  it('defaults to pipeline-level FAILED for every pipeline', () => {
    const r = rule({ slackChannels: ['C1'] });
    expect(ruleMatches(r, t('anything', 'FAILED'))).toBe(true);
    expect(ruleMatches(r, t('anything', 'SUCCEEDED'))).toBe(false);
    expect(ruleMatches(r, t('anything', 'FAILED', 'action'))).toBe(false);
  });

  it('matches pipeline globs anchored at both ends', () => {
    const r = rule({ pipeline: 'payments-*-prod', slackChannels: ['C1'] });
    expect(ruleMatches(r, t('payments-api-prod', 'FAILED'))).toBe(true);
    expect(ruleMatches(r, t('payments-api-prod-copy', 'FAILED'))).toBe(false);
    expect(ruleMatches(r, t('xpayments-api-prod', 'FAILED'))).toBe(false);
  });

  it('treats glob metacharacters other than * literally', () => {
    const r = rule({ pipeline: 'app.v1', slackChannels: ['C1'] });
    expect(ruleMatches(r, t('app.v1', 'FAILED'))).toBe(true);
    expect(ruleMatches(r, t('appXv1', 'FAILED'))).toBe(false);
  });

  it('matches any state with *', () => {
    const r = rule({ states: ['*'], scope: ['stage'], slackChannels: ['C1'] });
    expect(ruleMatches(r, t('p', 'STOPPING', 'stage'))).toBe(true);
    expect(ruleMatches(r, t('p', 'STOPPING', 'pipeline'))).toBe(false);
  });

  it('unions the destinations of every matching rule, each once, in rule order', () => {
    const rules = [
      rule({ pipeline: '*', states: ['FAILED'], slackChannels: ['C-ALL'], emails: ['Ops@Example.com'] }),
      rule({
        pipeline: 'pay*',
        states: ['FAILED', 'STOPPED'],
        slackChannels: ['C-PAY', 'C-ALL'],
        emails: ['ops@example.com', 'pay@example.com'],
      }),
      rule({ pipeline: 'web*', states: ['FAILED'], slackChannels: ['C-WEB'] }),
      rule({ pipeline: '*', states: ['FAILED'], scope: ['action'], slackChannels: ['C-ACTIONS'] }),
    ];
    expect(routeTransition(rules, t('payments', 'FAILED'))).toEqual({
      slackChannels: ['C-ALL', 'C-PAY'],
      emails: ['ops@example.com', 'pay@example.com'],
    });
    expect(routeTransition(rules, t('payments', 'STOPPED'))).toEqual({
      slackChannels: ['C-PAY', 'C-ALL'],
      emails: ['ops@example.com', 'pay@example.com'],
    });
    expect(routeTransition(rules, t('payments', 'SUCCEEDED'))).toEqual({ slackChannels: [], emails: [] });
    expect(routeTransition(rules, t('web', 'FAILED', 'action'))).toEqual({ slackChannels: ['C-ACTIONS'], emails: [] });
  });
});
