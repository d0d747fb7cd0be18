import { escapeMrkdwn, slackLink } from '../escape.ts';
import type { SlackMessage } from '../ports.ts';
import { describeTrigger, formatDuration, formatTime, headline, STATE_EMOJI, shortId, subjectOf } from './format.ts';
import type { NotificationView } from './view.ts';

/** Everything from CodePipeline or a commit message is untrusted text: escaped, and linked only when http(s). */
const link = slackLink;

/** Slack caps header text at 150 characters and section text at 3000. */
const cap = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** Slack allows 50 blocks per message; a run with many failed parallel actions lists the first ones. */
export const MAX_FAILURE_SECTIONS = 10;

/** Renders a state-change notification as Block Kit with a plain-text fallback. */
export const renderSlack = (v: NotificationView, channel: string): SlackMessage => {
  const blocks: unknown[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: cap(`${subjectOf(v)} ${v.state}`, 150), emoji: true },
    },
  ];

  const fields: Array<{ type: 'mrkdwn'; text: string }> = [
    { type: 'mrkdwn', text: `*State*\n${STATE_EMOJI[v.state]} ${v.state}` },
    { type: 'mrkdwn', text: `*Execution*\n${link(v.consoleUrl, v.executionId)}` },
  ];
  if (v.durationMs !== undefined) fields.push({ type: 'mrkdwn', text: `*Duration*\n${formatDuration(v.durationMs)}` });
  if (v.revision) {
    // Slack renders no link inside a code span: a linked id is plain, an unlinked one is code.
    const short = v.revision.id ? shortId(v.revision.id) : undefined;
    const id = short === undefined ? '' : v.revision.url ? link(v.revision.url, short) : `\`${escapeMrkdwn(short)}\``;
    const summary = v.revision.summary ? escapeMrkdwn(v.revision.summary) : '';
    fields.push({ type: 'mrkdwn', text: cap(`*Revision*\n${[id, summary].filter(Boolean).join(' ')}`, 2000) });
  }
  const trigger = describeTrigger(v.trigger);
  if (trigger) fields.push({ type: 'mrkdwn', text: `*Triggered by*\n${escapeMrkdwn(trigger)}` });
  blocks.push({ type: 'section', fields });

  for (const f of v.failures.slice(0, MAX_FAILURE_SECTIONS)) {
    const lines = [
      `:x: *Failed:* ${escapeMrkdwn(f.stage)} › ${escapeMrkdwn(f.action)}${f.errorCode ? ` (\`${escapeMrkdwn(f.errorCode)}\`)` : ''}`,
    ];
    if (f.summary) lines.push(`>${escapeMrkdwn(f.summary).replace(/\n/g, '\n>')}`);
    if (f.externalUrl) lines.push(link(f.externalUrl, `Open in ${f.provider ?? 'provider'}`));
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cap(lines.join('\n'), 3000) } });
  }
  if (v.failures.length > MAX_FAILURE_SECTIONS) {
    const more = v.failures.length - MAX_FAILURE_SECTIONS;
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `…and ${more} more failed action${more === 1 ? '' : 's'} (see the execution)` },
    });
  }
  if (v.statusSummary && v.failures.length === 0) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cap(`>${escapeMrkdwn(v.statusSummary)}`, 3000) } });
  }
  if (v.stopComments) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: cap(`*Stop comment:* ${escapeMrkdwn(v.stopComments)}`, 3000) },
    });
  }

  const region = v.region && v.actionRegion ? `${v.region} (action in ${v.actionRegion})` : v.region;
  const context = [v.account ? `account ${v.account}` : undefined, region, formatTime(v.time)]
    .filter(Boolean)
    .join(' · ');
  const notes = [
    ...(v.missing.length > 0 ? [`_Details unavailable: ${v.missing.join(', ')}_`] : []),
    ...(v.rateLimitNote ? [`_${escapeMrkdwn(v.rateLimitNote)}_`] : []),
  ];
  blocks.push({
    type: 'context',
    elements: [context, ...notes].map((text) => ({ type: 'mrkdwn', text })),
  });

  return { channel, text: cap(headline(v), 3000), blocks };
};
