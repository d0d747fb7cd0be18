/**
 * The approver's side of a Stagecrew approval on the local cloud: the emailed link in `/_local/outbox`, and the
 * approval page's decision form, posted as the approver's browser does.
 */
import { waitFor } from './local-cloud.ts';

/** Anything with the local cloud's base URL: a TestCloud, a CloudProcess… */
type Cloud = { url: string };

export type OutboxEntry = {
  id: string;
  channel: string;
  to: string[];
  subject?: string;
  text: string;
  links: string[];
};

export const outbox = async (cloud: Cloud): Promise<OutboxEntry[]> =>
  (await (await fetch(`${cloud.url}/_local/outbox`)).json()) as OutboxEntry[];

const APPROVAL_PATH = /\/approvals\/[^/?#]+/;

/** The approval link of one outbox message (an email or Slack post), if it carries one. */
export const approvalLinkOf = (m: Pick<OutboxEntry, 'links'>): string | undefined =>
  m.links.find((l) => APPROVAL_PATH.test(l));

/** The approval link emailed to `to` for `pipeline` (named in the subject or text; waits for it). */
export const approvalLink = (cloud: Cloud, pipeline: string, to = 'ana@example.com', timeoutMs = 30_000) =>
  waitFor(async () => {
    for (const m of await outbox(cloud)) {
      if (m.channel !== 'email' || !m.to.includes(to) || !`${m.subject} ${m.text}`.includes(pipeline)) continue;
      const link = approvalLinkOf(m);
      if (link) return link;
    }
    return undefined;
  }, timeoutMs);

/** The first approval link anywhere in the outbox (any channel, any recipient; waits for one). */
export const firstApprovalLink = (cloud: Cloud, timeoutMs: number) =>
  waitFor(async () => {
    const outbox = (await (await fetch(`${cloud.url}/_local/outbox`)).json()) as unknown[];
    return /https?:\/\/[^\s"<>]+\/approvals\/[^\s"<>\\]+/.exec(JSON.stringify(outbox))?.[0];
  }, timeoutMs);

export const approvalId = (link: string): string => decodeURIComponent(/\/approvals\/([^/?#]+)/.exec(link)?.[1] ?? '');

/** The page's decision form: where it posts and its hidden fields (nonce, signature…). */
export type DecisionForm = { action: string; fields: URLSearchParams };

/** Parses the decision form out of an approval page served for `link`; undefined when the page has none. */
export const decisionFormOf = (page: string, link: string): DecisionForm | undefined => {
  const form = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(page);
  if (!form) return undefined;
  const fields = new URLSearchParams();
  for (const m of (form[2] ?? '').matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields.set(m[1] as string, (m[2] as string).replace(/&amp;/g, '&'));
  return { action: new URL((form[1] ?? '').replace(/&amp;/g, '&'), link).toString(), fields };
};

/** POSTs the form with `decision` and `comment` (no redirect followed); the caller reads or discards the body. */
export const postDecision = (form: DecisionForm, decision: 'approve' | 'reject', comment: string) => {
  const fields = new URLSearchParams(form.fields);
  fields.set('comment', comment);
  fields.set('decision', decision);
  return fetch(form.action, {
    method: 'POST',
    body: fields,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    redirect: 'manual',
  });
};

type Answer = { status: number; text: string };

/**
 * Opens the page (a fresh nonce each time) and posts its form, as the approver's browser does. `status` 0: the
 * page had no form (already decided, closed…). `resubmit` posts the very same form again (a double click).
 */
export const decideOnPage = async (
  link: string,
  decision: 'approve' | 'reject',
  comment = 'looks good',
): Promise<Answer & { resubmit(): Promise<Answer> }> => {
  const page = await (await fetch(link)).text();
  const form = decisionFormOf(page, link);
  if (!form) return { status: 0, text: page, resubmit: async () => ({ status: 0, text: page }) };
  const submit = async (): Promise<Answer> => {
    const res = await postDecision(form, decision, comment);
    return { status: res.status, text: await res.text() };
  };
  return { ...(await submit()), resubmit: submit };
};
