import { UnavailableError, ValidationError } from '../errors.ts';
import { describeLocation, gatewayAt, type Location, mayActIn } from '../organization/location.ts';
import type { PipelineGateway } from '../ports.ts';
import type { ApprovalRoute, Settings } from '../settings.ts';
import { type ApprovalRecord, type ApprovalRequest, type ApprovalStatus, approvalIdFor, TERMINAL } from './model.ts';
import { announce, type NotifyDeps, syncMessages } from './notify.ts';
import { authorsFrom, resolveRoute } from './policy.ts';
import {
  type ActionStateChange,
  type PipelineStateChange,
  type RequestFunctionEvent,
  SnsApprovalMessage,
} from './schemas.ts';

export type RequestDeps = NotifyDeps & {
  pipelines: Pick<
    PipelineGateway,
    | 'getPipelineState'
    | 'getPipelineExecution'
    | 'listActionExecutions'
    | 'listRecentActionExecutions'
    | 'getActionConfiguration'
  >;
  settings: () => Promise<Settings>;
  /** The hub's own account and region; absent: every pipeline is taken to be there. */
  home?: Location;
  /** CodePipeline in a member account (its role), for approvals of pipelines there (docs/ORGANIZATION.md). */
  pipelinesAt?: (where: Location) => Promise<RequestDeps['pipelines']>;
};

/** CodePipeline's default approval timeout, used when the deadline is not in the event (EventBridge discovery). */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 7 * 24 * 3600_000;
/** A DECIDING record untouched this long belongs to a crashed decider; lifecycle sync may close it. */
const STALE_DECIDING_MS = 60_000;

export type RequestOutcome =
  | { kind: 'created'; id: string }
  | { kind: 'duplicate'; id: string }
  | { kind: 'closed'; ids: string[] }
  | { kind: 'ignored'; reason: string };

/** Entry point of the approval-request function for all three event kinds. */
export const handleRequestEvent = async (event: RequestFunctionEvent, deps: RequestDeps): Promise<RequestOutcome[]> => {
  if ('Records' in event) return ingestRecords(event, deps);
  if (event['detail-type'] === 'CodePipeline Action Execution State Change') return [await onActionChange(event, deps)];
  return [await onPipelineChange(event, deps)];
};

/**
 * Each SNS record on its own: one bad or failing record neither stops the others nor undoes them. When any failed,
 * the invocation fails afterwards (SNS → Lambda is an asynchronous invoke, which has no partial-batch answer) so
 * the platform retries; the records already handled are deduplicated on their token and not announced twice.
 */
const ingestRecords = async (records: Extract<RequestFunctionEvent, { Records: unknown }>, deps: RequestDeps) => {
  const out: RequestOutcome[] = [];
  const failures: { index: number; messageId?: string; error: Error }[] = [];
  for (const [index, rec] of records.Records.entries()) {
    try {
      out.push(await ingest(parseSnsMessage(rec.Sns.Message), deps));
    } catch (err) {
      failures.push({ index, messageId: rec.Sns.MessageId, error: err as Error });
      deps.warn('SNS record failed; the other records go on', {
        index,
        messageId: rec.Sns.MessageId,
        error: (err as Error).message,
      });
    }
  }
  if (failures.length === 0) return out;
  // Fail after the others are done, so the record is retried and, past the retries, kept in the dead-letter queue;
  // the records already handled are deduplicated on their token when the event comes again.
  const summary = failures.map((f) => `record ${f.index}${f.messageId ? ` (${f.messageId})` : ''}: ${f.error.message}`);
  const message = `${failures.length} of ${records.Records.length} SNS records failed: ${summary.join('; ')}`;
  if (failures.every((f) => f.error instanceof ValidationError)) {
    throw new ValidationError(message, summary, { cause: failures[0]?.error });
  }
  throw new UnavailableError(message, { cause: failures[0]?.error });
};

export const parseSnsMessage = (raw: string): ApprovalRequest => {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ValidationError('SNS message is not JSON');
  }
  const parsed = SnsApprovalMessage.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ValidationError(`not a CodePipeline approval message: ${issues.join('; ')}`, issues);
  }
  const { region, consoleLink, approval: a } = parsed.data;
  return {
    pipeline: a.pipelineName,
    stage: a.stageName,
    action: a.actionName,
    token: a.token,
    region,
    expires: new Date(a.expires),
    customData: a.customData ?? undefined,
    externalEntityLink: a.externalEntityLink ?? undefined,
    consoleLink: consoleLink ?? undefined,
    source: 'sns',
  };
};

/**
 * Stores a new approval (conditional put keyed by the token's hash: SNS and EventBridge redeliveries converge)
 * and announces it. A duplicate that was never announced (a crash between put and send) is announced now.
 */
export const ingest = async (req: ApprovalRequest, given: RequestDeps): Promise<RequestOutcome> => {
  // Every CodePipeline read below happens where the pipeline lives.
  const deps: RequestDeps = {
    ...given,
    pipelines: await gatewayAt(req, { home: given.home, own: given.pipelines, elsewhere: given.pipelinesAt }),
  };
  const id = approvalIdFor(req.token);
  const invalid = invalidNames(req);
  if (invalid.length > 0) {
    // CodePipeline would refuse PutApprovalResult for these names (anyone who can publish to the topic can send
    // them): nothing is announced, and the refusal is audited.
    const reason = `names CodePipeline would refuse: ${invalid.join(', ')}`;
    await deps.store.audit({
      approvalId: id,
      pipeline: req.pipeline.slice(0, 100),
      executionId: req.executionId ?? '',
      at: deps.clock.now().toISOString(),
      event: 'refused',
      channel: 'codepipeline',
      reason,
    });
    deps.warn('approval refused: invalid names', { approvalId: id, fields: invalid });
    return { kind: 'ignored', reason };
  }
  const existing = await deps.store.get(id);
  if (existing) {
    const current =
      req.source === 'sns' && existing.source === 'eventbridge'
        ? ((await enrichFromSns(existing, req, deps)) ?? existing)
        : existing;
    // The SNS message has come: an announcement held back for it goes out now, with its details.
    return reannounceIfSilent(current, deps, req.source === 'sns');
  }
  const now = deps.clock.now();
  const settings = await deps.settings();
  const route = resolveRoute(settings, req.pipeline, req.stage, req.action);
  const executionId = req.executionId ?? (await findExecutionId(req, deps));
  let revision: ApprovalRecord['revision'];
  let authors: string[] = [];
  if (executionId) {
    try {
      const exec = await deps.pipelines.getPipelineExecution(req.pipeline, executionId);
      const first = exec.sourceRevisions[0];
      revision = first ? { id: first.revisionId, summary: first.revisionSummary, url: first.revisionUrl } : undefined;
      authors = authorsFrom(
        exec.trigger,
        exec.sourceRevisions.map((s) => s.revisionSummary ?? ''),
      );
    } catch (err) {
      deps.warn('could not read the pipeline execution; announcing without revision details', {
        error: (err as Error).message,
      });
    }
  }
  const holdFor = req.source === 'eventbridge' ? await awaitsSnsMessage(req, deps) : false;
  const record: ApprovalRecord = {
    id,
    ...(holdFor ? { announceAfter: new Date(now.getTime() + SNS_WAIT_MS).toISOString() } : {}),
    status: 'PENDING',
    pipeline: req.pipeline,
    stage: req.stage,
    action: req.action,
    executionId: executionId ?? '',
    region: req.region,
    ...(req.accountId ? { accountId: req.accountId } : {}),
    token: req.token,
    createdAt: now.toISOString(),
    expiresAt: req.expires.toISOString(),
    customData: req.customData,
    externalEntityLink: req.externalEntityLink,
    consoleLink: req.consoleLink,
    source: req.source,
    revision,
    authors,
    route,
    approveCount: 0,
    approvers: [],
    slackPosts: [],
    emailedTo: [],
    version: 1,
  };
  if (!(await deps.store.create(record))) {
    // Lost a race with the other delivery path: still take the SNS message's details if EventBridge won.
    // An announcement EventBridge held back for this SNS message goes out now.
    const winner = await deps.store.get(id);
    if (winner && req.source === 'sns' && winner.source === 'eventbridge') {
      return reannounceIfSilent((await enrichFromSns(winner, req, deps)) ?? winner, deps, true);
    }
    return { kind: 'duplicate', id };
  }
  await deps.store.audit({
    approvalId: id,
    pipeline: record.pipeline,
    executionId: record.executionId,
    at: record.createdAt,
    event: 'requested',
    channel: 'codepipeline',
    reason: `via ${req.source}`,
  });
  if (holdFor) {
    deps.warn('approval found through EventBridge first; holding its announcement for the SNS message', {
      approvalId: id,
      until: record.announceAfter,
    });
    return { kind: 'created', id };
  }
  if (await deps.store.claim(id, 'announcedAt', undefined, now)) await announce(record, audienceOf(route), deps);
  return { kind: 'created', id };
};

/** CodePipeline's pattern for pipeline, stage and action names (PutApprovalResult's request syntax). */
const CODEPIPELINE_NAME = /^[A-Za-z0-9.@_-]{1,100}$/;

/** The name fields of an approval that PutApprovalResult would refuse with a ValidationException. */
export const invalidNames = (req: Pick<ApprovalRequest, 'pipeline' | 'stage' | 'action'>): string[] =>
  (['pipeline', 'stage', 'action'] as const).filter((k) => !CODEPIPELINE_NAME.test(req[k]));

/** How long an approval found through EventBridge waits for its SNS message before it is announced anyway. */
export const SNS_WAIT_MS = 60_000;

/**
 * Does CodePipeline also publish this approval to an SNS topic (the action's `NotificationArn`)? Then the SNS message
 * is on its way and carries what EventBridge does not. A failed lookup does not hold anything back.
 */
const awaitsSnsMessage = async (req: ApprovalRequest, deps: RequestDeps): Promise<boolean> => {
  try {
    const config = await deps.pipelines.getActionConfiguration(req.pipeline, req.stage, req.action);
    return Boolean(config?.NotificationArn);
  } catch (err) {
    deps.warn('could not read the action configuration; announcing without waiting', {
      error: (err as Error).message,
    });
    return false;
  }
};

/**
 * EventBridge found it first: take the real deadline and the message's details from SNS. Messages already sent are
 * updated in place (chat.update) and the late arrival is recorded.
 */
const enrichFromSns = async (
  existing: ApprovalRecord,
  req: ApprovalRequest,
  deps: RequestDeps,
): Promise<ApprovalRecord | undefined> => {
  const enriched = await deps.store.enrich(existing.id, {
    expiresAt: req.expires.toISOString(),
    customData: req.customData,
    externalEntityLink: req.externalEntityLink,
    consoleLink: req.consoleLink,
  });
  if (enriched && (enriched.slackPosts.length > 0 || enriched.emailedTo.length > 0)) {
    await syncMessages(enriched, deps);
    await deps.store.audit({
      approvalId: enriched.id,
      pipeline: enriched.pipeline,
      executionId: enriched.executionId,
      at: deps.clock.now().toISOString(),
      event: 'notified',
      channel: 'system',
      reason: 'the SNS message arrived after the announcement; messages updated with its details',
    });
  }
  return enriched;
};

const audienceOf = (route: ApprovalRoute) => ({ slackChannels: route.slackChannels, emails: route.emails });

/** A creator that crashed before announcing: after a grace period, a redelivery claims the announcement. */
const ANNOUNCE_GRACE_MS = 5 * 60_000;

const reannounceIfSilent = async (
  r: ApprovalRecord,
  deps: RequestDeps,
  snsArrived = false,
): Promise<RequestOutcome> => {
  const now = deps.clock.now();
  // Held for the SNS message: only its arrival (or the reminder sweep, once the wait is over) announces it.
  if (!snsArrived && r.announceAfter && now.getTime() < Date.parse(r.announceAfter))
    return { kind: 'duplicate', id: r.id };
  const silent = r.status === 'PENDING' && r.slackPosts.length === 0 && r.emailedTo.length === 0;
  const stale = r.announcedAt === undefined || now.getTime() - Date.parse(r.announcedAt) >= ANNOUNCE_GRACE_MS;
  if (silent && stale && (await deps.store.claim(r.id, 'announcedAt', r.announcedAt, now))) {
    await announce(r, audienceOf(r.route), deps);
  }
  return { kind: 'duplicate', id: r.id };
};

/** The SNS message has no execution id: the stage's latest execution that holds this token names it. */
const findExecutionId = async (req: ApprovalRequest, deps: RequestDeps): Promise<string | undefined> => {
  try {
    const state = await deps.pipelines.getPipelineState(req.pipeline);
    const stage = state.stages.find((s) => s.stageName === req.stage);
    const action = stage?.actions.find((a) => a.actionName === req.action && a.token === req.token);
    if (action) return action.pipelineExecutionId ?? stage?.latestExecution?.pipelineExecutionId;
    // PARALLEL executions (or a stage that moved on): the approval's token is its externalExecutionId.
    const recent = await deps.pipelines.listRecentActionExecutions(req.pipeline);
    const match = recent.find(
      (e) => e.stageName === req.stage && e.actionName === req.action && e.externalExecutionId === req.token,
    );
    if (match) return match.pipelineExecutionId;
  } catch (err) {
    deps.warn('could not read pipeline state to find the execution id', { error: (err as Error).message });
  }
  return undefined;
};

/**
 * Resolves the token of an approval action that just STARTED in a given execution: GetPipelineState matched on
 * the stage's execution id and the action name (never "the first InProgress action"), else ListActionExecutions'
 * `externalExecutionId` (PARALLEL executions, or a stage that already moved on to a newer execution).
 */
export const resolveToken = async (
  deps: Pick<RequestDeps, 'pipelines'>,
  pipeline: string,
  executionId: string,
  stageName: string,
  actionName: string,
): Promise<string | undefined> => {
  const state = await deps.pipelines.getPipelineState(pipeline);
  const stage = state.stages.find((s) => s.stageName === stageName);
  if (stage?.latestExecution?.pipelineExecutionId === executionId) {
    const action = stage.actions.find((a) => a.actionName === actionName);
    if (action?.token && (action.status === undefined || action.status === 'InProgress')) return action.token;
  }
  const executions = await deps.pipelines.listActionExecutions(pipeline, executionId);
  const match = executions.find(
    (e) =>
      e.pipelineExecutionId === executionId &&
      e.stageName === stageName &&
      e.actionName === actionName &&
      e.status === 'InProgress' &&
      e.externalExecutionId,
  );
  return match?.externalExecutionId;
};

const ACTION_TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'ABANDONED', 'CANCELED']);

const onActionChange = async (event: ActionStateChange, deps: RequestDeps): Promise<RequestOutcome> => {
  const d = event.detail;
  if (d.type.category !== 'Approval') return { kind: 'ignored', reason: `category ${d.type.category}` };
  if (d.state === 'STARTED') {
    const where = event.account ? { accountId: event.account, region: event.region } : undefined;
    if (where && deps.home && !mayActIn(where, deps.home, (await deps.settings()).organization)) {
      // A forwarded event from an account this hub was not given: nothing is read, stored or announced.
      const reason = `${describeLocation(where)} is not one of this hub's member accounts`;
      deps.warn('approval ignored', { pipeline: d.pipeline, reason });
      return { kind: 'ignored', reason };
    }
    const pipelines = await gatewayAt(
      { accountId: event.account, region: event.region },
      { home: deps.home, own: deps.pipelines, elsewhere: deps.pipelinesAt },
    );
    const token = await resolveToken({ pipelines }, d.pipeline, d['execution-id'], d.stage, d.action);
    // Not visible yet: throw a retryable error so EventBridge's async retry tries again.
    if (!token) throw new UnavailableError(`approval token for ${d.pipeline}/${d.stage}/${d.action} not visible yet`);
    return ingest(
      {
        pipeline: d.pipeline,
        stage: d.stage,
        action: d.action,
        token,
        region: event.region,
        ...(event.account ? { accountId: event.account } : {}),
        executionId: d['execution-id'],
        expires: new Date(Date.parse(event.time) + DEFAULT_APPROVAL_TIMEOUT_MS),
        source: 'eventbridge',
      },
      deps,
    );
  }
  if (!ACTION_TERMINAL.has(d.state)) return { kind: 'ignored', reason: `state ${d.state}` };
  const now = deps.clock.now();
  const records = (await deps.store.listByExecution(d.pipeline, d['execution-id'])).filter(
    (r) => r.stage === d.stage && r.action === d.action,
  );
  return closeAll(
    records,
    (r) => (d.state === 'FAILED' && now.getTime() >= Date.parse(r.expiresAt) ? 'EXPIRED' : 'CLOSED'),
    `${d.state.toLowerCase()} in CodePipeline`,
    deps,
  );
};

const PIPELINE_ENDS: Record<string, ApprovalStatus> = {
  SUPERSEDED: 'SUPERSEDED',
  STOPPED: 'CLOSED',
  STOPPING: 'CLOSED',
  FAILED: 'CLOSED',
  CANCELED: 'CLOSED',
};

const onPipelineChange = async (event: PipelineStateChange, deps: RequestDeps): Promise<RequestOutcome> => {
  const d = event.detail;
  const status = PIPELINE_ENDS[d.state];
  if (!status) return { kind: 'ignored', reason: `state ${d.state}` };
  const records = await deps.store.listByExecution(d.pipeline, d['execution-id']);
  return closeAll(records, () => status, `execution ${d.state.toLowerCase()}`, deps);
};

const closeAll = async (
  records: ApprovalRecord[],
  statusOf: (r: ApprovalRecord) => ApprovalStatus,
  reason: string,
  deps: RequestDeps,
): Promise<RequestOutcome> => {
  const now = deps.clock.now();
  const ids: string[] = [];
  for (const r of records) {
    if (TERMINAL.has(r.status)) continue;
    const closed = await deps.store.close(r.id, statusOf(r), reason, now, new Date(now.getTime() - STALE_DECIDING_MS));
    if (!closed) continue;
    ids.push(r.id);
    await deps.store.audit({
      approvalId: r.id,
      pipeline: r.pipeline,
      executionId: r.executionId,
      at: now.toISOString(),
      event: 'closed',
      channel: 'codepipeline',
      reason,
    });
    await syncMessages(closed, deps);
  }
  return { kind: 'closed', ids };
};
