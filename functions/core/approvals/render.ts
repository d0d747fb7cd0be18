import { escapeHtml, escapeMrkdwn, htmlLink, httpUrl, slackLink } from '../escape.ts';
import type { EmailMessage, SlackMessage } from '../ports.ts';
import { type ApprovalRecord, describeStatus } from './model.ts';

/**
 * What people see: the Slack message (Block Kit), the email, and the approval page. Nothing here ever includes
 * the CodePipeline token; buttons carry the opaque approval id only.
 */
export const ACTION_APPROVE = 'stagecrew_approve';
export const ACTION_REJECT = 'stagecrew_reject';
export const REJECT_VIEW = 'stagecrew_reject_reason';

const mrkdwn = escapeMrkdwn;

/** "in 3 h 20 min", "in 12 min", "expired". */
export const countdown = (expiresAt: string, now: Date): string => {
  const ms = Date.parse(expiresAt) - now.getTime();
  if (ms <= 0) return 'expired';
  const min = Math.floor(ms / 60_000);
  const d = Math.floor(min / 1440);
  const h = Math.floor((min % 1440) / 60);
  const m = min % 60;
  if (d > 0) return `in ${d} d ${h} h`;
  if (h > 0) return `in ${h} h ${m} min`;
  return `in ${m} min`;
};

const title = (r: ApprovalRecord) => `Approval needed: ${r.pipeline} › ${r.stage} › ${r.action}`;

const revisionLine = (r: ApprovalRecord): string | undefined => {
  if (!r.revision?.id && !r.revision?.summary) return undefined;
  const id = r.revision.id ? r.revision.id.slice(0, 12) : '';
  return `${id}${r.revision.summary ? ` ${commitMessage(r.revision.summary)}` : ''}`.trim();
};

/** GitHub/CodeStar summaries are JSON `{"ProviderType":…,"CommitMessage":…}`; others are plain text. */
export const commitMessage = (summary: string): string => {
  try {
    const parsed = JSON.parse(summary) as { CommitMessage?: unknown };
    if (typeof parsed.CommitMessage === 'string') return parsed.CommitMessage.split('\n')[0] ?? '';
  } catch {
    // plain text summary
  }
  return summary.split('\n')[0] ?? '';
};

export const slackApprovalMessage = (r: ApprovalRecord, channel: string, now: Date): SlackMessage => {
  const open = r.status === 'PENDING';
  const fields = [
    `*Pipeline*\n${mrkdwn(r.pipeline)}`,
    `*Stage › Action*\n${mrkdwn(r.stage)} › ${mrkdwn(r.action)}`,
    `*Execution*\n${mrkdwn(r.executionId || 'unknown')}`,
    `*Expires*\n${open ? countdown(r.expiresAt, now) : '—'} (${r.expiresAt})`,
  ];
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: title(r).slice(0, 150) } },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
  ];
  const rev = revisionLine(r);
  if (rev) {
    const text = `*Revision* ${slackLink(r.revision?.url, rev)}`;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } });
  }
  if (r.customData) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `> ${mrkdwn(r.customData)}` } });
  if (r.externalEntityLink) {
    // A link only for http(s); anything else (javascript:, mrkdwn injection) is shown as escaped text.
    const href = httpUrl(r.externalEntityLink);
    const text = href
      ? slackLink(href, 'Review link')
      : `Review link (not a web address): ${mrkdwn(r.externalEntityLink)}`;
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: text.slice(0, 3000) }] });
  }
  const status = mrkdwn(describeStatus(r)) + (open ? '' : r.comment ? ` — “${mrkdwn(r.comment)}”` : '');
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: status }] });
  if (open) {
    blocks.push({
      type: 'actions',
      block_id: 'stagecrew_decision',
      elements: [
        {
          type: 'button',
          action_id: ACTION_APPROVE,
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          value: r.id,
        },
        {
          type: 'button',
          action_id: ACTION_REJECT,
          style: 'danger',
          text: { type: 'plain_text', text: 'Reject' },
          value: r.id,
        },
      ],
    });
  }
  // `text` is the notification fallback, rendered as mrkdwn too.
  return { channel, text: mrkdwn(`${title(r)} — ${describeStatus(r)}`), blocks };
};

/** The reason modal opened for Reject (when the policy requires a reason). */
export const rejectReasonView = (r: ApprovalRecord, meta: { channel: string; ts: string }) => ({
  type: 'modal',
  callback_id: REJECT_VIEW,
  private_metadata: JSON.stringify({ id: r.id, channel: meta.channel, ts: meta.ts }),
  title: { type: 'plain_text', text: 'Reject approval' },
  submit: { type: 'plain_text', text: 'Reject' },
  close: { type: 'plain_text', text: 'Cancel' },
  blocks: [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*${mrkdwn(r.pipeline)}* › ${mrkdwn(r.stage)} › ${mrkdwn(r.action)}` },
    },
    {
      type: 'input',
      block_id: 'reason',
      label: { type: 'plain_text', text: 'Reason' },
      element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 1000 },
    },
  ],
});

export const approvalEmail = (r: ApprovalRecord, to: string, link: string, now: Date, note = ''): EmailMessage => {
  const rev = revisionLine(r);
  const lines = [
    note,
    `${title(r)}`,
    '',
    `Pipeline:  ${r.pipeline}`,
    `Stage:     ${r.stage}`,
    `Action:    ${r.action}`,
    `Execution: ${r.executionId || 'unknown'}`,
    rev ? `Revision:  ${rev}` : '',
    r.customData ? `Note:      ${r.customData}` : '',
    r.externalEntityLink
      ? `Review:    ${r.externalEntityLink}${httpUrl(r.externalEntityLink) ? '' : ' (not a web address)'}`
      : '',
    `Expires:   ${r.expiresAt} (${countdown(r.expiresAt, now)})`,
    '',
    'Open this link to review and approve or reject (the link is personal: do not forward it):',
    link,
  ].filter((l, i, all) => l !== '' || (all[i - 1] ?? '') !== '');
  const html = `<!doctype html><html><body style="font-family:sans-serif">
${note ? `<p>${esc(note)}</p>` : ''}<h2>${esc(title(r))}</h2>
<table>${row('Pipeline', r.pipeline)}${row('Stage', r.stage)}${row('Action', r.action)}${row('Execution', r.executionId || 'unknown')}${rev ? row('Revision', rev) : ''}${r.customData ? row('Note', r.customData) : ''}${row('Expires', `${r.expiresAt} (${countdown(r.expiresAt, now)})`)}</table>
${r.externalEntityLink ? `<p>${htmlLink(r.externalEntityLink, 'External review link')}${httpUrl(r.externalEntityLink) ? '' : `: ${esc(r.externalEntityLink)}`}</p>` : ''}
<p><a href="${esc(link)}">Review and decide</a></p>
<p style="color:#666">This link is personal to ${esc(to)}. Opening it changes nothing; you decide on the page.</p>
</body></html>`;
  return {
    to: [to],
    subject: subjectLine(`${note ? `${note} ` : ''}Approval needed: ${r.pipeline} / ${r.stage} / ${r.action}`),
    text: lines.join('\n'),
    html,
  };
};

/**
 * An email subject is one header line: every control character (CR, LF, NEL, tab, NUL, …) and the Unicode line
 * and paragraph separators become a space, so no value can start a new header line or fold the subject; 200
 * code points at most, never cutting a surrogate pair in half.
 */
export const subjectLine = (text: string): string => {
  const one = [...text.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')];
  return one.length <= 200 ? one.join('') : `${one.slice(0, 199).join('')}…`;
};

export const esc = escapeHtml;

const row = (k: string, v: string) => `<tr><th align="left">${esc(k)}</th><td>${esc(v)}</td></tr>`;

export type PageForm = { action: string; fields: Record<string, string>; rejectNeedsReason: boolean };

/**
 * The approval page: details, expiry, one form for both choices (two submit buttons), no script at all. The
 * style block carries the CSP nonce; nothing auto-submits.
 */
export const approvalPage = (options: {
  record: ApprovalRecord;
  now: Date;
  cspNonce: string;
  recipient?: string;
  form?: PageForm;
  message?: string;
  heading?: string;
}): string => {
  const { record: r, now, cspNonce } = options;
  const rev = revisionLine(r);
  const details = `<table>${row('Pipeline', r.pipeline)}${row('Stage', r.stage)}${row('Action', r.action)}${row('Execution', r.executionId || 'unknown')}${rev ? row('Revision', rev) : ''}${r.customData ? row('Note', r.customData) : ''}${row('Expires', `${r.expiresAt}${r.status === 'PENDING' ? ` (${countdown(r.expiresAt, now)})` : ''}`)}${row('Status', describeStatus(r))}</table>${r.externalEntityLink ? `<p>${htmlLink(r.externalEntityLink, 'External review link')}${httpUrl(r.externalEntityLink) ? '' : `: ${esc(r.externalEntityLink)}`}</p>` : ''}`;
  const form = options.form
    ? `<form method="post" action="${esc(options.form.action)}">
${Object.entries(options.form.fields)
  .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
  .join('\n')}
<label for="comment">Comment${options.form.rejectNeedsReason ? ' (required to reject)' : ''}</label>
<textarea id="comment" name="comment" rows="4" maxlength="1000"></textarea>
<div class="buttons"><button type="submit" name="decision" value="approve" class="approve">Approve</button>
<button type="submit" name="decision" value="reject" class="reject">Reject</button></div>
</form>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex,nofollow"><title>${esc(options.heading ?? 'Stagecrew approval')}</title>
<style nonce="${esc(cspNonce)}">body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem}
th{padding-right:1rem;vertical-align:top}textarea{width:100%}.buttons{margin-top:1rem;display:flex;gap:1rem}
button{font-size:1rem;padding:.5rem 1.5rem}.approve{background:#1a7f37;color:#fff}.reject{background:#cf222e;color:#fff}
.message{padding:.75rem;border:1px solid #888;border-radius:4px}</style></head>
<body><h1>${esc(options.heading ?? `${r.pipeline} › ${r.stage} › ${r.action}`)}</h1>
${options.message ? `<p class="message" role="status">${esc(options.message)}</p>` : ''}
${options.recipient ? `<p>Signed in by link as <strong>${esc(options.recipient)}</strong>.</p>` : ''}
${details}
${form}
</body></html>`;
};

/** A bare page for errors where no record may be shown (bad signature, unknown id). */
export const errorPage = (heading: string, message: string, cspNonce: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex,nofollow"><title>${esc(heading)}</title>
<style nonce="${esc(cspNonce)}">body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto}</style></head>
<body><h1>${esc(heading)}</h1><p class="message" role="status">${esc(message)}</p></body></html>`;
