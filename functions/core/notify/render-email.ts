import type { EmailMessage } from '../ports.ts';
import { describeTrigger, formatDuration, formatTime, headline, shortId, subjectOf } from './format.ts';
import type { NotificationView } from './view.ts';

export const escapeHtml = (text: string): string =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

const safeHref = (url: string | undefined): string | undefined =>
  url && /^https?:\/\//i.test(url) ? escapeHtml(url) : undefined;

/** Header lines cannot carry line breaks or other control characters (header injection); subjects stay short. */
const subjectLine = (text: string): string => {
  const one = text.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ');
  return one.length <= 200 ? one : `${one.slice(0, 199)}…`;
};

/** Renders a state-change notification as one email (plain text and HTML) for the given recipients. */
export const renderEmail = (v: NotificationView, to: readonly string[]): EmailMessage => {
  const rows: Array<[string, string, string | undefined]> = [
    ['State', v.state, undefined],
    ['Execution', v.executionId, v.consoleUrl],
  ];
  if (v.durationMs !== undefined) rows.push(['Duration', formatDuration(v.durationMs), undefined]);
  if (v.revision) {
    const text = [v.revision.id ? shortId(v.revision.id) : undefined, v.revision.summary].filter(Boolean).join(' ');
    rows.push(['Revision', text, v.revision.url]);
  }
  const trigger = describeTrigger(v.trigger);
  if (trigger) rows.push(['Triggered by', trigger, undefined]);
  if (v.stopComments) rows.push(['Stop comment', v.stopComments, undefined]);
  const region = v.region && v.actionRegion ? `${v.region}, action in ${v.actionRegion}` : v.region;
  rows.push(['Time', `${formatTime(v.time)}${region ? ` (${region})` : ''}`, undefined]);
  if (v.account) rows.push(['Account', v.account, undefined]);

  const text: string[] = [`${subjectOf(v)} ${v.state}`, ''];
  for (const [k, val, url] of rows) text.push(`${k}: ${val}${url ? ` <${url}>` : ''}`);
  for (const f of v.failures) {
    text.push('', `Failed: ${f.stage} › ${f.action}${f.errorCode ? ` (${f.errorCode})` : ''}`);
    if (f.summary) text.push(`  ${f.summary.replace(/\n/g, '\n  ')}`);
    if (f.externalUrl) text.push(`  ${f.externalUrl}`);
  }
  if (v.statusSummary && v.failures.length === 0) text.push('', v.statusSummary);
  if (v.missing.length > 0) text.push('', `Details unavailable: ${v.missing.join(', ')}`);
  if (v.rateLimitNote) text.push('', v.rateLimitNote);

  const cell = (val: string, url: string | undefined) => {
    const href = safeHref(url);
    return href ? `<a href="${href}">${escapeHtml(val)}</a>` : escapeHtml(val);
  };
  const html = [
    `<h2>${escapeHtml(`${subjectOf(v)} ${v.state}`)}</h2>`,
    '<table>',
    ...rows.map(([k, val, url]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${cell(val, url)}</td></tr>`),
    '</table>',
    ...v.failures.map(
      (f) =>
        `<h3>Failed: ${escapeHtml(`${f.stage} › ${f.action}`)}${f.errorCode ? ` (<code>${escapeHtml(f.errorCode)}</code>)` : ''}</h3>` +
        (f.summary ? `<pre>${escapeHtml(f.summary)}</pre>` : '') +
        (safeHref(f.externalUrl)
          ? `<p><a href="${safeHref(f.externalUrl)}">Open in ${escapeHtml(f.provider ?? 'provider')}</a></p>`
          : ''),
    ),
    ...(v.statusSummary && v.failures.length === 0 ? [`<p>${escapeHtml(v.statusSummary)}</p>`] : []),
    ...(v.missing.length > 0 ? [`<p><em>Details unavailable: ${escapeHtml(v.missing.join(', '))}</em></p>`] : []),
    ...(v.rateLimitNote ? [`<p><em>${escapeHtml(v.rateLimitNote)}</em></p>`] : []),
  ].join('\n');

  return { to: [...to], subject: subjectLine(`[Stagecrew] ${headline(v)}`), text: text.join('\n'), html };
};
