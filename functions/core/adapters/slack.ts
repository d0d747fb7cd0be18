import { PermissionError, StagecrewError, UnavailableError } from '../errors.ts';
import type { SlackGateway, SlackMessage, SlackPosted } from '../ports.ts';

type Fetch = typeof fetch;

export type SlackApiOptions = {
  /** Base URL of the Web API (`https://slack.com/api`; the local cloud serves a compatible one). */
  baseUrl: string;
  /** Returns the bot token; called per request so a rotated secret is picked up through the parameters cache. */
  token: () => Promise<string>;
  fetch?: Fetch;
  timeoutMs?: number;
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
};

/** Slack answered `ok: false`. `error` is Slack's code (e.g. `channel_not_found`, `message_not_found`). */
export class SlackApiError extends StagecrewError {
  readonly code: string;
  constructor(method: string, code: string) {
    super(`slack ${method} failed: ${code}`);
    this.name = 'SlackApiError';
    this.code = code;
  }
}

const DENIED = new Set(['not_authed', 'invalid_auth', 'account_inactive', 'token_revoked', 'missing_scope']);

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Slack Web API over fetch. Retries 429 (honouring Retry-After) and 5xx with exponential backoff and jitter,
 * times out every request, and never logs the token. Links are not unfurled: approval links must not be fetched
 * by Slack's crawler.
 */
export class SlackWebApi implements SlackGateway {
  readonly #options: Required<Omit<SlackApiOptions, 'fetch'>> & { fetch: Fetch };

  constructor(options: SlackApiOptions) {
    this.#options = {
      timeoutMs: 5_000,
      maxAttempts: 4,
      sleep: defaultSleep,
      fetch: globalThis.fetch,
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
    };
  }

  async postMessage(message: SlackMessage): Promise<SlackPosted> {
    const body = await this.call('chat.postMessage', {
      channel: message.channel,
      text: message.text,
      blocks: message.blocks,
      thread_ts: message.threadTs,
      unfurl_links: false,
      unfurl_media: false,
    });
    return { channel: String(body.channel ?? message.channel), ts: String(body.ts) };
  }

  async updateMessage(message: SlackMessage & { ts: string }): Promise<void> {
    await this.call('chat.update', {
      channel: message.channel,
      ts: message.ts,
      text: message.text,
      blocks: message.blocks,
    });
  }

  async postEphemeral(message: SlackMessage & { user: string }): Promise<void> {
    await this.call('chat.postEphemeral', {
      channel: message.channel,
      user: message.user,
      text: message.text,
      blocks: message.blocks,
    });
  }

  async openView(triggerId: string, view: unknown): Promise<void> {
    await this.call('views.open', { trigger_id: triggerId, view });
  }

  async call(method: string, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { baseUrl, timeoutMs, maxAttempts, sleep } = this.#options;
    const token = await this.#options.token();
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let response: Response;
      try {
        response = await this.#options.fetch(`${baseUrl}/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${token}` },
          body: JSON.stringify(payload),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        lastError = err;
        await sleep(backoff(attempt));
        continue;
      }
      if (response.status === 429 || response.status >= 500) {
        lastError = new UnavailableError(`slack ${method}: HTTP ${response.status}`);
        const retryAfter = Number(response.headers.get('retry-after'));
        await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : backoff(attempt));
        continue;
      }
      const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      if (body.ok === true) return body;
      const code = typeof body.error === 'string' ? body.error : `http_${response.status}`;
      if (code === 'ratelimited') {
        lastError = new UnavailableError(`slack ${method}: ratelimited`);
        await sleep(backoff(attempt));
        continue;
      }
      if (DENIED.has(code)) throw new PermissionError(`slack ${method}: ${code}`);
      throw new SlackApiError(method, code);
    }
    throw new UnavailableError(`slack ${method}: gave up after ${maxAttempts} attempts`, { cause: lastError });
  }
}

/** Exponential backoff with full jitter, capped at 8 s. */
export const backoff = (attempt: number, base = 200, cap = 8_000): number =>
  Math.round(Math.random() * Math.min(cap, base * 2 ** (attempt - 1)));
