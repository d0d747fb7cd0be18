import { globMatch, type NotificationRule } from '../settings.ts';
import type { Transition } from '../timeline/transition.ts';

export type Route = { slackChannels: string[]; emails: string[] };

/** True when the rule covers this transition: pipeline glob × state (`*` = any) × scope. */
export const ruleMatches = (rule: NotificationRule, t: Pick<Transition, 'pipeline' | 'state' | 'scope'>): boolean =>
  globMatch(rule.pipeline, t.pipeline) &&
  (rule.states.includes('*') || rule.states.includes(t.state)) &&
  rule.scope.includes(t.scope);

/** The union of the channels of every matching rule, in rule order, each destination once. */
export const routeTransition = (
  rules: readonly NotificationRule[],
  t: Pick<Transition, 'pipeline' | 'state' | 'scope'>,
): Route => {
  const slack = new Set<string>();
  const emails = new Set<string>();
  for (const rule of rules) {
    if (!ruleMatches(rule, t)) continue;
    for (const c of rule.slackChannels) slack.add(c);
    // Addresses are case-insensitive in practice; one message per mailbox.
    for (const e of rule.emails) emails.add(e.toLowerCase());
  }
  return { slackChannels: [...slack], emails: [...emails] };
};

export const isEmptyRoute = (r: Route): boolean => r.slackChannels.length === 0 && r.emails.length === 0;
