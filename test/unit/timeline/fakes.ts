/**
 * In-memory implementations of the pipeline-events ports, with the same semantics as the DynamoDB adapters
 * (revision-checked writes, leased claims, fixed-window counters). Used by unit tests and bench/pipeline-events.ts.
 */
import type { DeliveryStore, StoredSummary } from '#core/delivery/ports';
import type { DeliverySummary, RecordVersion } from '#core/delivery/summary';
import { ConflictError, UnavailableError } from '#core/errors';
import type { Quota, RateLimiter } from '#core/notify/ports';
import type {
  ActionExecutionInfo,
  EmailMessage,
  Mailer,
  PipelineExecutionInfo,
  PipelineGateway,
  SlackGateway,
  SlackMessage,
  SlackPosted,
} from '#core/ports';
import { parseCodePipelineEvent } from '#core/schemas/codepipeline-events';
import { parseSettings, type Settings } from '#core/settings';
import type { StartOutcome, StopOutcome, TeardownStarter } from '#core/teardown/ports';
import type { Claim, EventLedger, StoredRecord, TimelineStore } from '#core/timeline/ports';
import type { RecordKey, TimelineRecord } from '#core/timeline/record';
import {
  handlePipelineEvent,
  type PipelineEventsDeps,
  type TeardownPlanner,
} from '../../../functions/pipeline-events/handle.ts';

/** What the deployed handler does with a raw event: parse it at the boundary (its clock's now), then handle it. */
export const handleRaw = async (raw: unknown, deps: PipelineEventsDeps) =>
  handlePipelineEvent(parseCodePipelineEvent(raw, deps.clock.now()), deps);

const keyString = (k: RecordKey) => `${k.executionId}|${k.type}|${k.stage ?? ''}|${k.action ?? ''}`;

export class MemoryTimelineStore implements TimelineStore {
  readonly items = new Map<string, StoredRecord>();
  writes = 0;

  async get(key: RecordKey): Promise<StoredRecord | undefined> {
    const s = this.items.get(keyString(key));
    return s ? { record: structuredClone(s.record), revision: s.revision } : undefined;
  }

  async put(record: TimelineRecord, expectedRevision: number | undefined): Promise<void> {
    const k = keyString(record);
    const current = this.items.get(k);
    if (current?.revision !== expectedRevision) throw new ConflictError(`conflict on ${k}`);
    this.writes++;
    this.items.set(k, { record: structuredClone(record), revision: (expectedRevision ?? 0) + 1 });
  }

  async listExecutions(pipeline: string, options: { limit?: number } = {}): Promise<TimelineRecord[]> {
    return [...this.items.values()]
      .map((s) => s.record)
      .filter((r) => r.type === 'execution' && r.pipeline === pipeline)
      .sort((a, b) => ((b.startedAt ?? b.firstSeenAt) < (a.startedAt ?? a.firstSeenAt) ? -1 : 1))
      .slice(0, options.limit ?? 25);
  }

  async listExecution(executionId: string): Promise<TimelineRecord[]> {
    return [...this.items.values()].map((s) => s.record).filter((r) => r.executionId === executionId);
  }

  async executionsBetween(pipeline: string, from: string, to: string): Promise<string[]> {
    return [...this.items.values()]
      .map((s) => s.record)
      .filter((r) => r.type === 'execution' && r.pipeline === pipeline)
      .filter((r) => (r.startedAt ?? r.firstSeenAt) >= from && (r.startedAt ?? r.firstSeenAt) < to)
      .map((r) => r.executionId);
  }

  async versionsOf(executionId: string): Promise<RecordVersion[]> {
    return [...this.items.values()]
      .filter((s) => s.record.executionId === executionId)
      .map((s) => ({ record: structuredClone(s.record), revision: s.revision }));
  }

  record(key: RecordKey): TimelineRecord | undefined {
    return this.items.get(keyString(key))?.record;
  }
}

/** Same semantics as DynamoDeliveryStore: revision-checked writes; a window is by anchor time, oldest first. */
export class MemoryDeliveryStore implements DeliveryStore {
  readonly items = new Map<string, StoredSummary>();

  async get(executionId: string): Promise<StoredSummary | undefined> {
    const s = this.items.get(executionId);
    return s ? { summary: structuredClone(s.summary), revision: s.revision } : undefined;
  }

  async put(summary: DeliverySummary, expectedRevision: number | undefined): Promise<void> {
    const current = this.items.get(summary.executionId);
    if (current?.revision !== expectedRevision) throw new ConflictError(`conflict on ${summary.executionId}`);
    this.items.set(summary.executionId, { summary: structuredClone(summary), revision: (expectedRevision ?? 0) + 1 });
  }

  async list(pipeline: string, from: string, to: string): Promise<DeliverySummary[]> {
    return [...this.items.values()]
      .filter(({ summary: s }) => s.pipeline === pipeline && s.anchorAt >= from && s.anchorAt < to)
      .map((s) => structuredClone(s.summary))
      .sort((a, b) =>
        a.anchorAt !== b.anchorAt ? (a.anchorAt < b.anchorAt ? -1 : 1) : a.executionId < b.executionId ? -1 : 1,
      );
  }
}

type LedgerEntry = { status: 'IN_PROGRESS' | 'DONE' | 'RELEASED'; leaseUntil: number; delivered: Set<string> };

export class MemoryEventLedger implements EventLedger {
  readonly entries = new Map<string, LedgerEntry>();
  readonly #leaseMs: number;

  constructor(leaseSeconds = 120) {
    this.#leaseMs = leaseSeconds * 1000;
  }

  async claim(eventId: string, now: Date): Promise<Claim> {
    const e = this.entries.get(eventId);
    if (e && e.status === 'DONE') return { claimed: false, reason: 'done' };
    if (e && e.status === 'IN_PROGRESS' && e.leaseUntil >= now.getTime())
      return { claimed: false, reason: 'in-progress' };
    const delivered = e?.delivered ?? new Set<string>();
    this.entries.set(eventId, { status: 'IN_PROGRESS', leaseUntil: now.getTime() + this.#leaseMs, delivered });
    return { claimed: true, delivered: new Set(delivered) };
  }

  async markDelivered(eventId: string, deliveryKey: string): Promise<void> {
    this.entries.get(eventId)?.delivered.add(deliveryKey);
  }

  async complete(eventId: string): Promise<void> {
    const e = this.entries.get(eventId);
    if (e) e.status = 'DONE';
  }

  async release(eventId: string): Promise<void> {
    const e = this.entries.get(eventId);
    if (e) e.status = 'RELEASED';
  }
}

export class MemoryRateLimiter implements RateLimiter {
  readonly counts = new Map<string, number>();

  async tryAcquire(key: string, limit: number, windowSeconds: number, now: Date): Promise<Quota> {
    const nowSec = Math.floor(now.getTime() / 1000);
    const start = nowSec - (nowSec % windowSeconds);
    const resetAt = new Date((start + windowSeconds) * 1000);
    const k = `${key}|${start}`;
    const count = this.counts.get(k) ?? 0;
    if (count >= limit) return { allowed: false, remaining: 0, resetAt };
    this.counts.set(k, count + 1);
    return { allowed: true, remaining: limit - count - 1, resetAt };
  }
}

export class FakeSlack implements SlackGateway {
  readonly posted: SlackMessage[] = [];
  /** Channel → error to throw when posting there. */
  readonly failures = new Map<string, Error>();

  async postMessage(message: SlackMessage): Promise<SlackPosted> {
    const failure = this.failures.get(message.channel);
    if (failure) throw failure;
    this.posted.push(message);
    return { channel: message.channel, ts: `${this.posted.length}.000100` };
  }
  async updateMessage(): Promise<void> {}
  async postEphemeral(): Promise<void> {}
  async openView(): Promise<void> {}
}

export class FakeMailer implements Mailer {
  readonly sent: Array<EmailMessage & { from: string }> = [];
  from = '';
  async send(message: EmailMessage): Promise<{ messageId: string }> {
    this.sent.push({ ...message, from: this.from });
    return { messageId: `m-${this.sent.length}` };
  }
}

export class FakePipelines implements Pick<PipelineGateway, 'getPipelineExecution' | 'listActionExecutions'> {
  execution: PipelineExecutionInfo | Error | undefined;
  actions: ActionExecutionInfo[] | Error = [];
  calls: string[] = [];

  async getPipelineExecution(pipelineName: string, executionId: string): Promise<PipelineExecutionInfo> {
    this.calls.push(`GetPipelineExecution ${pipelineName} ${executionId}`);
    if (this.execution instanceof Error) throw this.execution;
    return this.execution ?? { pipelineName, pipelineExecutionId: executionId, status: 'Unknown', sourceRevisions: [] };
  }

  async listActionExecutions(pipelineName: string, executionId: string): Promise<ActionExecutionInfo[]> {
    this.calls.push(`ListActionExecutions ${pipelineName} ${executionId}`);
    if (this.actions instanceof Error) throw this.actions;
    return this.actions;
  }
}

/** Names are idempotent as with Step Functions: a second start of a name already started is `already-exists`. */
export class FakeTeardownStarter implements TeardownStarter {
  readonly started: Array<{ name: string; input: Record<string, unknown> }> = [];
  readonly stopped: string[] = [];
  async startTeardown(name: string, input: Record<string, unknown>): Promise<StartOutcome> {
    const again = this.started.some((s) => s.name === name);
    this.started.push({ name, input });
    return again ? 'already-exists' : 'started';
  }
  async stopTeardown(name: string): Promise<StopOutcome> {
    this.stopped.push(name);
    return this.started.some((s) => s.name === name) ? 'stopped' : 'not-running';
  }
}

export const silentLogger = {
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** A teardown planner with the documented shape: start on FAILED/STOPPED, cancel on RESUMED. */
export const simplePlanner: TeardownPlanner = (t) => {
  const name = `${t.pipeline}-${t.executionId}`.slice(0, 80);
  if (t.state === 'FAILED' || t.state === 'STOPPED') {
    return { action: 'start', name, input: { pipeline: t.pipeline, executionId: t.executionId, state: t.state } };
  }
  if (t.state === 'RESUMED') return { action: 'stop', name };
  return undefined;
};

export const testSettings = (overrides: Partial<Settings['notifications']> = {}): Settings =>
  parseSettings({
    notifications: {
      emailSender: 'stagecrew@example.com',
      rules: [
        {
          pipeline: 'my*',
          states: ['FAILED'],
          scope: ['pipeline'],
          slackChannels: ['C-DEPLOYS'],
          emails: ['team@example.com'],
        },
      ],
      ...overrides,
    },
  });

export type World = {
  deps: PipelineEventsDeps;
  timeline: MemoryTimelineStore;
  delivery: MemoryDeliveryStore;
  ledger: MemoryEventLedger;
  rateLimiter: MemoryRateLimiter;
  slack: FakeSlack;
  mailer: FakeMailer;
  pipelines: FakePipelines;
  starter: FakeTeardownStarter;
  clock: { now: () => Date; set(d: Date): void };
  settings: { value: Settings };
};

export const makeWorld = (settings: Settings = testSettings()): World => {
  const timeline = new MemoryTimelineStore();
  const delivery = new MemoryDeliveryStore();
  const ledger = new MemoryEventLedger();
  const rateLimiter = new MemoryRateLimiter();
  const slack = new FakeSlack();
  const mailer = new FakeMailer();
  const pipelines = new FakePipelines();
  const starter = new FakeTeardownStarter();
  let now = new Date('2020-01-24T22:20:00Z');
  const clock = {
    now: () => now,
    set: (d: Date) => {
      now = d;
    },
  };
  const settingsBox = { value: settings };
  const deps: PipelineEventsDeps = {
    timeline,
    delivery,
    ledger,
    rateLimiter,
    slack,
    mailer: (from) => {
      mailer.from = from;
      return mailer;
    },
    pipelines,
    settings: { settings: async () => settingsBox.value },
    teardown: { plan: simplePlanner, starter },
    clock,
    logger: silentLogger,
  };
  return {
    deps,
    timeline,
    delivery,
    ledger,
    rateLimiter,
    slack,
    mailer,
    pipelines,
    starter,
    clock,
    settings: settingsBox,
  };
};

/** Fails every call with a retryable error (a throttled dependency). */
export const unavailable = (what: string) => new UnavailableError(`${what}: ThrottlingException`);
