import { randomUUID } from 'node:crypto';
import type { StateStore } from '../store/store.ts';

/**
 * Every Slack message and email the functions send, captured instead of delivered. A Slack `chat.update`
 * replaces the message's current version (the outbox shows what a user would see now).
 */
export type OutboxMessage = {
  id: string;
  channel: 'slack' | 'email';
  to: string[];
  subject: string;
  text: string;
  links: string[];
  at: string;
  /** Slack: the message timestamp and how many times it was updated. Email: the sender. */
  slack?: { channel: string; ts: string; versions: number; blocks?: unknown; threadTs?: string };
  email?: { from: string; html?: string };
};

const NS = 'outbox';
let seq = 0;

const URL_RE = /https?:\/\/[^\s<>"'|)\]]+/g;

/** Absolute http(s) links from text, Slack mrkdwn (`<url|label>`), HTML (href) and Block Kit blocks. */
export const extractLinks = (parts: { text?: string; html?: string; blocks?: unknown }, baseUrl: string): string[] => {
  const found: string[] = [];
  const add = (raw: string) => {
    const url = raw.replace(/&amp;/g, '&').replace(/[.,;:!?]+$/, '');
    try {
      const absolute = new URL(url, baseUrl).href;
      if (/^https?:/.test(absolute) && !found.includes(absolute)) found.push(absolute);
    } catch {
      // not a URL after all
    }
  };
  const scan = (text: string) => {
    for (const m of text.matchAll(URL_RE)) add(m[0]);
  };
  if (parts.text) scan(parts.text);
  if (parts.html) {
    for (const m of parts.html.matchAll(/href\s*=\s*["']([^"']+)["']/gi)) add(m[1] as string);
    scan(parts.html);
  }
  const walk = (node: unknown): void => {
    if (typeof node === 'string') scan(node);
    else if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'url' && typeof v === 'string') add(v);
        else walk(v);
      }
    }
  };
  if (parts.blocks) walk(parts.blocks);
  return found;
};

export class Outbox {
  readonly #store: StateStore;
  readonly #baseUrl: string;
  constructor(store: StateStore, baseUrl: string) {
    this.#store = store;
    this.#baseUrl = baseUrl;
  }

  #key(at: Date): string {
    // Keys sort as the messages were first captured: time, then a per-process sequence.
    seq = (seq + 1) % 1_000_000;
    return `${at.toISOString()}#${String(seq).padStart(6, '0')}#${randomUUID().slice(0, 8)}`;
  }

  addEmail(
    input: { from: string; to: string[]; subject: string; text: string; html?: string },
    at = new Date(),
  ): OutboxMessage {
    const message: OutboxMessage = {
      id: this.#key(at),
      channel: 'email',
      to: input.to,
      subject: input.subject,
      text: input.text,
      links: extractLinks({ text: input.text, ...(input.html ? { html: input.html } : {}) }, this.#baseUrl),
      at: at.toISOString(),
      email: { from: input.from, ...(input.html ? { html: input.html } : {}) },
    };
    this.#store.put(NS, message.id, message);
    return message;
  }

  addSlack(
    input: { channel: string; ts: string; text: string; blocks?: unknown; threadTs?: string; subject?: string },
    at = new Date(),
  ): OutboxMessage {
    const message: OutboxMessage = {
      id: this.#key(at),
      channel: 'slack',
      to: [input.channel],
      subject: input.subject ?? '',
      text: input.text,
      links: extractLinks({ text: input.text, blocks: input.blocks }, this.#baseUrl),
      at: at.toISOString(),
      slack: {
        channel: input.channel,
        ts: input.ts,
        versions: 1,
        ...(input.blocks !== undefined ? { blocks: input.blocks } : {}),
        ...(input.threadTs ? { threadTs: input.threadTs } : {}),
      },
    };
    this.#store.put(NS, message.id, message);
    return message;
  }

  findSlack(channel: string, ts: string): OutboxMessage | undefined {
    return this.list().find((m) => m.slack?.channel === channel && m.slack.ts === ts);
  }

  updateSlack(channel: string, ts: string, update: { text?: string; blocks?: unknown }): OutboxMessage | undefined {
    const current = this.findSlack(channel, ts);
    if (!current?.slack) return undefined;
    const text = update.text ?? current.text;
    const blocks = update.blocks ?? current.slack.blocks;
    const next: OutboxMessage = {
      ...current,
      text,
      links: extractLinks({ text, blocks }, this.#baseUrl),
      slack: { ...current.slack, versions: current.slack.versions + 1, ...(blocks !== undefined ? { blocks } : {}) },
    };
    this.#store.put(NS, current.id, next);
    return next;
  }

  /** Oldest first. */
  list(): OutboxMessage[] {
    return this.#store
      .list<OutboxMessage>(NS)
      .map(([, m]) => m)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
