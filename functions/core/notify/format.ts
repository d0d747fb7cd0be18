import type { State } from '../schemas/codepipeline-events.ts';
import type { Trigger } from '../timeline/transition.ts';
import type { NotificationView } from './view.ts';

/** `95_000` → `1m 35s`; hours when long. */
export const formatDuration = (ms: number): string => {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
};

/** `2020-01-24T22:03:07.000Z` → `2020-01-24 22:03:07 UTC`. */
export const formatTime = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;

export const STATE_EMOJI: Readonly<Record<State, string>> = {
  STARTED: ':arrow_forward:',
  RESUMED: ':repeat:',
  STOPPING: ':double_vertical_bar:',
  SUCCEEDED: ':white_check_mark:',
  FAILED: ':x:',
  CANCELED: ':heavy_minus_sign:',
  SUPERSEDED: ':fast_forward:',
  STOPPED: ':black_square_for_stop:',
  ABANDONED: ':wastebasket:',
};

/** `myPipeline`, `myPipeline › Deploy` or `myPipeline › Deploy › CreateStack`. */
export const subjectOf = (v: Pick<NotificationView, 'pipeline' | 'stage' | 'action'>): string =>
  [v.pipeline, v.stage, v.action].filter((p) => p !== undefined).join(' › ');

export const shortId = (id: string): string => (/^[0-9a-f]{40}$/i.test(id) ? id.slice(0, 7) : id.slice(0, 12));

/** `arn:aws:sts::123456789012:assumed-role/Admin/my-user` → `my-user (Admin)`; IAM users by name. */
const callerOf = (arn: string): string | undefined => {
  const assumed = /^arn:aws[\w-]*:sts::\d{12}:assumed-role\/([^/]+)\/(.+)$/.exec(arn);
  if (assumed) return `${assumed[2]} (${assumed[1]})`;
  const user = /^arn:aws[\w-]*:iam::\d{12}:user\/(?:.*\/)?([^/]+)$/.exec(arn);
  return user?.[1];
};

/**
 * Who or what started the run, as plain text (the renderers escape it): the trigger type, the Git tag or branch
 * and commit of a V2 Git trigger, then the person — the commit's author, or the caller a manual start names.
 * E.g. `GitTag v1.4.0 · c2e9b9a · GitHub acme/web by Mary Major <mary@example.com>`.
 */
export const describeTrigger = (t: Trigger | undefined): string | undefined => {
  if (!t) return undefined;
  const what = [t.type, t.tag ? `tag ${t.tag}` : t.branch ? `branch ${t.branch}` : undefined].filter(Boolean).join(' ');
  const where = [t.commitId ? shortId(t.commitId) : undefined, [t.provider, t.repository].filter(Boolean).join(' ')]
    .filter(Boolean)
    .join(' · ');
  const author = t.author ?? t.authorId;
  const who = author
    ? `${author}${t.authorEmail ? ` <${t.authorEmail}>` : ''}`
    : (t.authorEmail ?? (t.detail ? callerOf(t.detail) : undefined));
  const head = [what, where].filter(Boolean).join(' · ');
  const text = [
    head,
    who ? `by ${who}` : !head ? undefined : t.detail && !callerOf(t.detail) ? `from ${t.detail}` : undefined,
  ]
    .filter(Boolean)
    .join(' ');
  return text === '' ? undefined : text.slice(0, 300);
};

/** One plain-text line, used as Slack's notification fallback and as the email subject's tail. */
export const headline = (v: NotificationView): string => {
  const first = v.failures[0];
  const where = first ? ` at ${first.stage} › ${first.action}` : '';
  const why = first?.summary ? `: ${first.summary.split('\n')[0]}` : '';
  return `${subjectOf(v)} ${v.state}${where}${why}`;
};
