/**
 * Escaping for every place untrusted text (pipeline, stage and action names, CustomData, ExternalEntityLink,
 * commit messages, decider names, comments) meets a markup: Slack mrkdwn, HTML pages and emails. One module, so
 * a new renderer cannot forget a rule.
 */

/**
 * Slack's rules: `&`, `<` and `>` are the only control characters of mrkdwn text ("Escaping text" in Slack's
 * formatting reference). Escaped, `<!channel>` cannot ping and `<https://evil|x>` cannot become a link.
 */
export const escapeMrkdwn = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** HTML text and attribute values (double- or single-quoted). */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/**
 * The URL as a link target when, and only when, it is an absolute http(s) URL: `javascript:`, `data:`, relative
 * and malformed URLs (a `|` or `<` in the host, whitespace, control characters) are not links. Returns the parsed,
 * normalised form, with the characters Slack's link syntax reserves (`<`, `>`, `|`) percent-encoded.
 */
export const httpUrl = (raw: string | undefined): string | undefined => {
  if (raw === undefined || raw.length > 2048 || /[\s\p{Cc}]/u.test(raw)) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return url.href.replace(/[<>|]/g, encodeURIComponent);
};

/** A Slack link `<url|label>` for an http(s) URL; otherwise the label (or the raw URL) as escaped text. */
export const slackLink = (url: string | undefined, label: string): string => {
  const href = httpUrl(url);
  return href ? `<${href}|${escapeMrkdwn(label)}>` : escapeMrkdwn(label);
};

/** An HTML link for an http(s) URL; otherwise the text, escaped, with no link. */
export const htmlLink = (url: string | undefined, label: string): string => {
  const href = httpUrl(url);
  return href ? `<a href="${escapeHtml(href)}" rel="noreferrer noopener">${escapeHtml(label)}</a>` : escapeHtml(label);
};
