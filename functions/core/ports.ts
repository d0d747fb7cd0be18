/**
 * Ports shared by several use cases. Domain code depends on these structural types only, never on @aws-sdk.
 * Adapters in ./adapters implement them; tests pass fakes.
 */

/** A Slack message as Stagecrew sends it: Block Kit blocks plus the plain-text fallback. */
export type SlackMessage = {
  channel: string;
  text: string;
  blocks?: readonly unknown[];
  threadTs?: string;
};

export type SlackPosted = { channel: string; ts: string };

export type SlackGateway = {
  postMessage(message: SlackMessage): Promise<SlackPosted>;
  updateMessage(message: SlackMessage & { ts: string }): Promise<void>;
  postEphemeral(message: SlackMessage & { user: string }): Promise<void>;
  openView(triggerId: string, view: unknown): Promise<void>;
};

export type EmailMessage = {
  to: readonly string[];
  subject: string;
  text: string;
  html?: string;
};

export type Mailer = {
  send(message: EmailMessage): Promise<{ messageId: string }>;
};

export type Clock = { now(): Date };
export const systemClock: Clock = { now: () => new Date() };

/** Publishes Stagecrew's own events (`source: stagecrew`) to the default bus. */
export type EventPublisher = {
  publish(detailType: string, detail: Record<string, unknown>, resources?: readonly string[]): Promise<void>;
};
