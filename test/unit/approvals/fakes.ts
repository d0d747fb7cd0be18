import type { ApprovalRecord, ApprovalStatus, Channel, Decision, SlackPost } from '#core/approvals/model';
import type { ApprovalStore, AuditEntry, ClaimField, DecisionPatch, SnsDetails } from '#core/approvals/ports';
import type { EmailMessage, Mailer, SlackGateway, SlackMessage } from '#core/ports';
import type * as z from '#core/schemas/zod';
import { ApprovalRoute, parseSettings, type Settings } from '#core/settings';

/**
 * An in-memory ApprovalStore with the same conditional semantics as the DynamoDB adapter. Every method yields
 * to the event loop before its check-and-set (which itself is synchronous, like one DynamoDB item write), so
 * concurrent callers interleave the way Lambda invocations do.
 */
export class MemoryApprovalStore implements ApprovalStore {
  readonly records = new Map<string, ApprovalRecord>();
  readonly nonces = new Set<string>();
  readonly votes = new Map<string, { decision: Decision; channel: Channel; at: string }>();
  readonly audits: AuditEntry[] = [];
  readonly pending = new Set<string>();
  writes = 0;

  #tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  #copy = (r: ApprovalRecord | undefined) => (r ? structuredClone(r) : undefined);

  async create(record: ApprovalRecord) {
    await this.#tick();
    this.pending.add(record.id);
    if (this.records.has(record.id)) return false;
    this.records.set(record.id, structuredClone(record));
    this.writes++;
    return true;
  }
  async get(id: string) {
    await this.#tick();
    return this.#copy(this.records.get(id));
  }
  async consumeNonce(id: string, nonce: string) {
    await this.#tick();
    const key = `${id}/${nonce}`;
    if (this.nonces.has(key)) return false;
    this.nonces.add(key);
    return true;
  }
  async putVote(id: string, voterKey: string, vote: { decision: Decision; channel: Channel; at: string }) {
    await this.#tick();
    const key = `${id}/${voterKey}`;
    if (this.votes.has(key)) return false;
    this.votes.set(key, vote);
    return true;
  }
  async retractVote(id: string, voterKey: string) {
    await this.#tick();
    this.votes.delete(`${id}/${voterKey}`);
  }
  async addApproval(id: string, label: string) {
    await this.#tick();
    const r = this.records.get(id);
    if (r?.status !== 'PENDING') return undefined;
    r.approveCount += 1;
    r.approvers.push(label);
    r.version++;
    return this.#copy(r);
  }
  async beginDecision(id: string, now: Date, options: { minApprovals?: number; staleBefore: Date }) {
    await this.#tick();
    const r = this.records.get(id);
    if (!r) return undefined;
    const pendingOk =
      r.status === 'PENDING' && (options.minApprovals === undefined || r.approveCount >= options.minApprovals);
    const staleOk = r.status === 'DECIDING' && (r.decidingSince ?? '') < options.staleBefore.toISOString();
    if (!pendingOk && !staleOk) return undefined;
    r.status = 'DECIDING';
    r.decidingSince = now.toISOString();
    r.version++;
    return this.#copy(r);
  }
  async finishDecision(id: string, patch: DecisionPatch) {
    await this.#tick();
    const r = this.records.get(id);
    if (!r) throw new Error('missing');
    if (r.status === 'DECIDING') {
      Object.assign(r, patch);
      delete r.decidingSince;
      r.version++;
    }
    this.pending.delete(id);
    return structuredClone(r);
  }
  async abortDecision(id: string) {
    await this.#tick();
    const r = this.records.get(id);
    if (r?.status === 'DECIDING') {
      r.status = 'PENDING';
      delete r.decidingSince;
    }
  }
  async close(id: string, status: ApprovalStatus, reason: string, _now: Date, decidingBefore?: Date) {
    await this.#tick();
    const r = this.records.get(id);
    if (!r) return undefined;
    const ok =
      r.status === 'PENDING' ||
      (decidingBefore !== undefined &&
        r.status === 'DECIDING' &&
        (r.decidingSince ?? '') < decidingBefore.toISOString());
    if (!ok) return undefined;
    r.status = status;
    r.closedReason = reason;
    delete r.decidingSince;
    this.pending.delete(id);
    return this.#copy(r);
  }
  async enrich(id: string, details: SnsDetails) {
    await this.#tick();
    const r = this.records.get(id);
    if (r?.status !== 'PENDING' || r.source !== 'eventbridge') return undefined;
    Object.assign(r, Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined)), { source: 'sns' });
    r.version++;
    return this.#copy(r);
  }
  async recordNotified(id: string, posts: SlackPost[], emailedTo: string[]) {
    await this.#tick();
    const r = this.records.get(id);
    if (!r) throw new Error('missing');
    r.slackPosts.push(...posts);
    r.emailedTo.push(...emailedTo);
  }
  async claim(id: string, field: ClaimField, previous: string | undefined, now: Date) {
    await this.#tick();
    const r = this.records.get(id);
    if (r?.status !== 'PENDING' || r[field] !== previous) return false;
    r[field] = now.toISOString();
    return true;
  }
  async listByExecution(pipeline: string, executionId: string) {
    await this.#tick();
    return [...this.records.values()]
      .filter((r) => r.pipeline === pipeline && r.executionId === executionId)
      .map((r) => structuredClone(r));
  }
  async listPendingIds() {
    await this.#tick();
    return [...this.pending];
  }
  async audit(entry: AuditEntry) {
    await this.#tick();
    this.audits.push(structuredClone(entry));
  }
  async listAudit(id: string) {
    return this.audits.filter((a) => a.approvalId === id);
  }
  async listAuditByExecution(pipeline: string, executionId: string) {
    return this.audits.filter((a) => a.pipeline === pipeline && a.executionId === executionId);
  }
}

export class FakeSlack implements SlackGateway {
  posted: SlackMessage[] = [];
  updated: Array<SlackMessage & { ts: string }> = [];
  ephemeral: Array<SlackMessage & { user: string }> = [];
  views: Array<{ triggerId: string; view: unknown }> = [];
  #n = 0;
  async postMessage(m: SlackMessage) {
    this.posted.push(m);
    return { channel: m.channel, ts: `1700000000.${String(++this.#n).padStart(6, '0')}` };
  }
  async updateMessage(m: SlackMessage & { ts: string }) {
    this.updated.push(m);
  }
  async postEphemeral(m: SlackMessage & { user: string }) {
    this.ephemeral.push(m);
  }
  async openView(triggerId: string, view: unknown) {
    this.views.push({ triggerId, view });
  }
}

export class FakeMailer implements Mailer {
  sent: EmailMessage[] = [];
  async send(m: EmailMessage) {
    this.sent.push(m);
    return { messageId: `m-${this.sent.length}` };
  }
}

export class FakeClock {
  #now: number;
  constructor(iso: string) {
    this.#now = Date.parse(iso);
  }
  now = () => new Date(this.#now);
  advance(ms: number) {
    this.#now += ms;
  }
}

export const KEYS = {
  current: { id: 'k2', key: 'current-link-signing-key-0123456789abcdef' },
  previous: { k1: 'previous-link-signing-key-0123456789abcdef' },
};

export const NOW = '2026-03-02T10:00:00.000Z';

export const settingsWith = (approvals: Record<string, unknown> = {}): Settings =>
  parseSettings({ approvals, notifications: { emailSender: 'stagecrew@example.com' } });

/** A PENDING record for tests of the decision path. */
export const pendingRecord = (
  over: Omit<Partial<ApprovalRecord>, 'route'> & { route?: z.input<typeof ApprovalRoute> } = {},
): ApprovalRecord => {
  const { route, ...rest } = over;
  return {
    id: 'appr_0123456789abcdefghij',
    status: 'PENDING',
    pipeline: 'web',
    stage: 'Prod',
    action: 'Approve',
    executionId: 'exec-1',
    region: 'us-east-1',
    token: 'tok-1a2b3c4d',
    createdAt: NOW,
    expiresAt: '2026-03-09T10:00:00.000Z',
    source: 'sns',
    authors: [],
    route: ApprovalRoute.parse({ emails: ['ana@example.com', 'bo@example.com'], slackChannels: ['C1'], ...route }),
    approveCount: 0,
    approvers: [],
    slackPosts: [],
    emailedTo: [],
    version: 1,
    ...rest,
  };
};
