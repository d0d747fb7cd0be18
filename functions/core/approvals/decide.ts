import { NotFoundError, PermissionError, UnavailableError, ValidationError } from '../errors.ts';
import { gatewayAt, type Location } from '../organization/location.ts';
import type { Clock, EventPublisher, PipelineGateway } from '../ports.ts';
import { truncate } from '../text.ts';
import {
  ApprovalAlreadyCompletedError,
  ApprovalRefusedError,
  InvalidApprovalTokenError,
  refusalFor,
} from './errors.ts';
import { type ApprovalRecord, type Decision, type Voter, voterKey, voterLabel } from './model.ts';
import { checkVoter } from './policy.ts';
import type { ApprovalStore, AuditEntry } from './ports.ts';

export type DecideDeps = {
  store: ApprovalStore;
  /** `getPipelineState` tells whether an "already completed" answer after a lost response was our own decision. */
  pipelines: Pick<PipelineGateway, 'putApprovalResult'> & Partial<Pick<PipelineGateway, 'getPipelineState'>>;
  publisher: EventPublisher;
  clock: Clock;
  sleep?: (ms: number) => Promise<void>;
  warn?: (message: string, extra?: Record<string, unknown>) => void;
  /** The hub's own account and region; absent: every pipeline is taken to be there. */
  home?: Location;
  /**
   * CodePipeline in a member account, through its role in a session named after the approver (who is also the
   * session's source identity, so the member account's CloudTrail names the human): docs/ORGANIZATION.md.
   */
  pipelinesAt?: (where: Location, approver: string) => Promise<DecideDeps['pipelines']>;
};

export type RequestInfo = { requestId?: string; sourceIp?: string; userAgent?: string };

export type DecideInput = {
  approvalId: string;
  voter: Voter;
  decision: Decision;
  comment?: string;
  /** A verified page nonce to consume (email path). Slack requests are single-use by their signature window. */
  nonce?: string;
  nonceExpiresAt?: Date;
  request?: RequestInfo;
  /** Stop retrying a throttled PutApprovalResult past this instant (Slack wants an answer within 3 s). */
  retryUntil?: Date;
};

export type DecideResult =
  | { kind: 'vote_recorded'; record: ApprovalRecord }
  | { kind: 'decided'; record: ApprovalRecord };

export const DECIDING_STALE_MS = 60_000;
const PUT_ATTEMPTS = 4;
const FOREVER = new Date('9999-12-31T23:59:59.999Z'); // ISO strings compare as text: keep 4 digits

/** Reasons for PutApprovalResult's `summary`: names the approvers, the channel and the comment; ≤ 512 chars. */
export const approvalSummary = (
  decision: Decision,
  names: readonly string[],
  channel: string,
  comment: string | undefined,
): string =>
  truncate(
    `${decision === 'approve' ? 'Approved' : 'Rejected'} by ${names.join(', ')} via ${channel}${comment ? `: ${comment}` : ''}`,
    512,
  );

/**
 * The one decision path for the page and Slack. Checks policy, consumes the nonce, records one vote per person
 * (conditional), and when the decision is reached (first reject, or the quorum-th distinct approve) moves the
 * approval PENDING → DECIDING with a conditional write: only that caller calls PutApprovalResult, so any number
 * of concurrent requests yield exactly one call. Every refusal is an ApprovalRefusedError with a status.
 */
export const decide = async (input: DecideInput, deps: DecideDeps): Promise<DecideResult> => {
  const { store, clock } = deps;
  const now = clock.now();
  const record = await store.get(input.approvalId);
  if (!record) throw new ApprovalRefusedError('not_found', 'no such approval');
  const base = auditBase(record, input, now);
  const refuse = async (err: ApprovalRefusedError): Promise<never> => {
    await store.audit({ ...base, event: 'refused', reason: err.reason, decision: input.decision });
    throw err;
  };

  if (record.status !== 'PENDING') throw refusalFor(record);
  if (now.getTime() >= Date.parse(record.expiresAt)) {
    throw new ApprovalRefusedError('expired', `this approval expired at ${record.expiresAt}`, record);
  }
  const allowed = checkVoter(record.route, input.voter, record.authors);
  if (!allowed.ok) await refuse(new ApprovalRefusedError(allowed.reason, allowed.message, record));
  const comment = input.comment?.trim() ? input.comment.trim().slice(0, 1000) : undefined;
  if (input.decision === 'reject' && record.route.policy.rejectNeedsReason && !comment) {
    throw new ApprovalRefusedError('reason_required', 'a reason is required to reject', record);
  }
  if (input.nonce !== undefined) {
    const fresh = await store.consumeNonce(record.id, input.nonce, input.nonceExpiresAt ?? new Date(record.expiresAt));
    if (!fresh)
      await refuse(new ApprovalRefusedError('nonce_used', 'this page was already submitted; reload the link', record));
  }
  const key = voterKey(input.voter);
  const label = voterLabel(input.voter);
  const first = await store.putVote(record.id, key, {
    decision: input.decision,
    channel: input.voter.channel,
    at: now.toISOString(),
  });
  let counted = record;
  if (!first) {
    const current = (await store.get(record.id)) ?? record;
    if (current.status !== 'PENDING') throw refusalFor(current);
    // A quorum that was reached but whose PutApprovalResult failed retryably: the retry may finish it.
    const stuck = input.decision === 'approve' && current.approveCount >= current.route.policy.quorum;
    if (!stuck) throw new ApprovalRefusedError('already_voted', 'you already voted on this approval', current);
    counted = current;
  } else if (input.decision === 'approve') {
    const after = await store.addApproval(record.id, label);
    if (!after) throw refusalFor((await store.get(record.id)) ?? record);
    counted = after;
    if (after.approveCount < after.route.policy.quorum) {
      await store.audit({ ...base, event: 'vote', decision: 'approve', comment });
      return { kind: 'vote_recorded', record: after };
    }
  }

  const deciding = await store.beginDecision(record.id, now, {
    minApprovals: input.decision === 'approve' ? counted.route.policy.quorum : undefined,
    staleBefore: new Date(now.getTime() - DECIDING_STALE_MS),
  });
  if (!deciding) {
    const current = (await store.get(record.id)) ?? record;
    throw refusalFor(current.status === 'PENDING' ? { ...current, status: 'DECIDING' } : current);
  }

  const names = input.decision === 'approve' ? deciding.approvers : [label];
  const summary = approvalSummary(input.decision, names, input.voter.channel, comment);
  let approvedAt: Date | undefined;
  // Where the pipeline lives: a member account's approval is decided there, in a session named after the approver.
  let located: DecideDeps = deps;
  try {
    const pipelinesAt = deps.pipelinesAt;
    located = {
      ...deps,
      pipelines: await gatewayAt(deciding, {
        home: deps.home,
        own: deps.pipelines,
        elsewhere: pipelinesAt && ((where) => pipelinesAt(where, voterKey(input.voter))),
      }),
    };
    approvedAt = (await putWithRetry(deciding, input.decision, summary, located, input.retryUntil)).approvedAt;
  } catch (err) {
    const ours =
      err instanceof ApprovalAlreadyCompletedError
        ? await ownDecision(deciding, input.decision, summary, located)
        : undefined;
    if (!ours) return await failDecision(err, deciding, base, deps);
    approvedAt = ours.approvedAt;
  }
  const decided = await store.finishDecision(record.id, {
    status: input.decision === 'approve' ? 'APPROVED' : 'REJECTED',
    decidedBy: names.join(', '),
    decidedAt: now.toISOString(),
    decisionChannel: input.voter.channel,
    comment,
    approvedAt: approvedAt?.toISOString(),
  });
  await store.audit({
    ...base,
    event: 'decided',
    decision: input.decision,
    comment,
    approvedAt: approvedAt?.toISOString(),
  });
  try {
    await deps.publisher.publish(
      'Stagecrew Approval Decided',
      {
        approvalId: decided.id,
        pipeline: decided.pipeline,
        stage: decided.stage,
        action: decided.action,
        executionId: decided.executionId,
        decision: decided.status,
        decidedBy: decided.decidedBy,
        approvers: decided.approvers,
        channel: input.voter.channel,
        comment: decided.comment,
        decidedAt: decided.decidedAt,
        approvedAt: decided.approvedAt,
      },
      [],
    );
  } catch (err) {
    // The decision stands; a lost notification event must not turn it into an error.
    deps.warn?.('could not publish Stagecrew Approval Decided', { error: (err as Error).message });
  }
  return { kind: 'decided', record: decided };
};

const putWithRetry = async (
  r: ApprovalRecord,
  decision: Decision,
  summary: string,
  deps: DecideDeps,
  retryUntil: Date | undefined,
): Promise<{ approvedAt?: Date }> => {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((res) => setTimeout(res, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.pipelines.putApprovalResult({
        pipelineName: r.pipeline,
        stageName: r.stage,
        actionName: r.action,
        token: r.token,
        result: { status: decision === 'approve' ? 'Approved' : 'Rejected', summary },
      });
    } catch (err) {
      if (!(err instanceof UnavailableError) || attempt >= PUT_ATTEMPTS) throw err;
      const pause = Math.min(2_000, 100 * 2 ** attempt);
      if (retryUntil && deps.clock.now().getTime() + pause > retryUntil.getTime()) throw err;
      await sleep(pause);
    }
  }
};

/**
 * A PutApprovalResult whose answer was lost (dropped connection, timeout) is retried, and the retry is told the
 * approval is already completed: by our first attempt, or by someone else in between. The action's latest
 * execution says which: ours carries our status and our exact summary.
 */
const ownDecision = async (
  r: ApprovalRecord,
  decision: DecideInput['decision'],
  summary: string,
  deps: DecideDeps,
): Promise<{ approvedAt?: Date } | undefined> => {
  if (!deps.pipelines.getPipelineState) return undefined;
  try {
    const state = await deps.pipelines.getPipelineState(r.pipeline);
    const action = state.stages.find((s) => s.stageName === r.stage)?.actions.find((a) => a.actionName === r.action);
    const status = decision === 'approve' ? 'Succeeded' : 'Failed';
    if (action?.status !== status || action.summary !== summary) return undefined;
    if (action.pipelineExecutionId !== undefined && action.pipelineExecutionId !== r.executionId) return undefined;
    return { approvedAt: action.lastStatusChange };
  } catch (err) {
    deps.warn?.('could not check who completed the approval', { approvalId: r.id, error: (err as Error).message });
    return undefined;
  }
};

const failDecision = async (err: unknown, r: ApprovalRecord, base: AuditBase, deps: DecideDeps): Promise<never> => {
  const { store, clock } = deps;
  const now = clock.now();
  if (err instanceof ApprovalAlreadyCompletedError) {
    const closed = await store.close(r.id, 'CLOSED', 'decided outside Stagecrew', now, FOREVER);
    await store.audit({ ...base, event: 'failed', reason: 'ApprovalAlreadyCompleted' });
    throw new ApprovalRefusedError('already_decided', 'this approval was already decided in CodePipeline', closed ?? r);
  }
  if (err instanceof InvalidApprovalTokenError) {
    const expired = now.getTime() >= Date.parse(r.expiresAt);
    const closed = await store.close(
      r.id,
      expired ? 'EXPIRED' : 'SUPERSEDED',
      'CodePipeline no longer accepts this approval token',
      now,
      FOREVER,
    );
    await store.audit({ ...base, event: 'failed', reason: 'InvalidApprovalToken' });
    throw new ApprovalRefusedError(
      expired ? 'expired' : 'superseded',
      'this approval is no longer waiting',
      closed ?? r,
    );
  }
  if (err instanceof NotFoundError) {
    const closed = await store.close(r.id, 'CLOSED', 'pipeline, stage or action not found', now, FOREVER);
    await store.audit({ ...base, event: 'failed', reason: err.message });
    deps.warn?.('approval target not found in CodePipeline', { approvalId: r.id, error: err.message });
    throw new ApprovalRefusedError('not_found', 'the pipeline action for this approval no longer exists', closed ?? r);
  }
  if (err instanceof ValidationError) {
    // CodePipeline refuses the request itself (names or token it cannot accept): no retry can succeed.
    const closed = await store.close(r.id, 'CLOSED', 'CodePipeline refused the request', now, FOREVER);
    await store.audit({ ...base, event: 'failed', reason: err.message.slice(0, 500) });
    deps.warn?.('CodePipeline refused PutApprovalResult', { approvalId: r.id, error: err.message });
    throw new ApprovalRefusedError(
      'invalid',
      'CodePipeline refused this approval request; decide it in the CodePipeline console',
      closed ?? r,
    );
  }
  await store.abortDecision(r.id);
  // A reject that could not be delivered is withdrawn, so the person can simply try again.
  if (base.decision === 'reject' && base.voterKey) await store.retractVote(r.id, base.voterKey);
  await store.audit({ ...base, event: 'failed', reason: (err as Error).name });
  if (err instanceof UnavailableError) {
    throw new ApprovalRefusedError('unavailable', 'CodePipeline is busy; your vote is kept, please try again', r);
  }
  if (err instanceof PermissionError) {
    deps.warn?.('Stagecrew may not decide this approval (IAM)', { approvalId: r.id, error: err.message });
    throw new ApprovalRefusedError(
      'unavailable',
      'Stagecrew is not permitted to decide this approval in CodePipeline; an operator has to fix its role',
      r,
    );
  }
  throw err;
};

type AuditBase = Omit<AuditEntry, 'event'> & { voterKey?: string };

const auditBase = (r: ApprovalRecord, input: DecideInput, now: Date): AuditBase => ({
  approvalId: r.id,
  pipeline: r.pipeline,
  executionId: r.executionId,
  ...(r.accountId ? { accountId: r.accountId, region: r.region } : {}),
  at: now.toISOString(),
  actor: voterLabel(input.voter),
  channel: input.voter.channel,
  requestId: input.request?.requestId,
  sourceIp: input.voter.channel === 'email' ? input.request?.sourceIp : undefined,
  userAgent: input.voter.channel === 'email' ? input.request?.userAgent?.slice(0, 512) : undefined,
  decision: input.decision,
  voterKey: voterKey(input.voter),
});
