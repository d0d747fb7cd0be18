import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.ts';
import { ValidationError } from '../errors.ts';
import * as z from './zod.ts';

/**
 * CodePipeline's EventBridge state-change events (`source: aws.codepipeline`), parsed with our own schema because
 * the documented samples drift: `detail.version` and `type.version` are numbers in some samples and strings in
 * others, optional fields come and go, and `@types/aws-lambda` lacks STOPPING, STOPPED and ABANDONED.
 * Events delivered through Developer Tools notifications ("processed" form) rename `detail-type` to `detailType`,
 * add `notificationRuleArn` and `additionalAttributes`, and carry no `id` (and at times no `time`); both forms are
 * accepted: a processed event without an id gets one derived from its content (see {@link contentId}), one without
 * a time takes the time it was received. Unknown fields are kept, never rejected.
 */

export const DETAIL_TYPES = {
  pipeline: 'CodePipeline Pipeline Execution State Change',
  stage: 'CodePipeline Stage Execution State Change',
  action: 'CodePipeline Action Execution State Change',
} as const;

export type EventScope = keyof typeof DETAIL_TYPES;

/**
 * Every state the docs, the CDK enum and the samples name, accepted at every level: the per-level tables are
 * known to be incomplete (STOPPED is in no sample), so a new combination must not drop an event.
 */
export const STATES = [
  'STARTED',
  'SUCCEEDED',
  'RESUMED',
  'FAILED',
  'CANCELED',
  'SUPERSEDED',
  'STOPPING',
  'STOPPED',
  'ABANDONED',
] as const;
export const State = z.enum(STATES);
export type State = z.infer<typeof State>;

/** `1`, `"1"` and `" 1 "` are all version 1; anything non-numeric is a validation error. */
const Version = z.pipe(
  z.union([z.number(), z.pipe(z.string().check(z.trim(), z.regex(/^\d+$/, 'must be a number')), z.transform(Number))]),
  z.int().check(z.nonnegative()),
);

/** The API's pipeline execution id is a UUID; the docs once showed an ARN there, which we refuse explicitly. */
const EXECUTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ExecutionId = z
  .string()
  .check(z.trim(), z.regex(EXECUTION_ID, 'execution-id must be a pipeline execution id (UUID), e.g. not an ARN'));

const Name = z.string().check(z.trim(), z.minLength(1), z.maxLength(256));

const ActionType = z.looseObject({
  owner: z.optional(z.string()),
  category: z.optional(z.string()),
  provider: z.optional(z.string()),
  version: z.optional(Version),
});

const ExecutionResult = z.looseObject({
  'external-execution-url': z.optional(z.string()),
  'external-execution-summary': z.optional(z.string()),
  'external-execution-id': z.optional(z.string()),
  'error-code': z.optional(z.string()),
});

const Common = {
  pipeline: Name,
  'execution-id': ExecutionId,
  state: State,
  version: z.optional(Version),
  'pipeline-execution-attempt': z.optional(Version),
};

/**
 * Who or what started the execution. V1 pipelines and manual starts send `trigger-type` and `trigger-detail` (an STS
 * ARN, a CodeCommit ARN…); V2 pipelines started by a Git push or tag through a connection add the commit and its
 * author. Every field is optional and unknown ones are kept.
 */
const ExecutionTrigger = z.looseObject({
  'trigger-type': z.optional(z.string()),
  'trigger-detail': z.optional(z.string()),
  'provider-type': z.optional(z.string()),
  'full-repository-name': z.optional(z.string()),
  'branch-name': z.optional(z.string()),
  'tag-name': z.optional(z.string()),
  'commit-id': z.optional(z.string()),
  'commit-message': z.optional(z.string()),
  'author-display-name': z.optional(z.string()),
  'author-email': z.optional(z.string()),
  'author-id': z.optional(z.string()),
  'author-date': z.optional(z.string()),
  'connection-arn': z.optional(z.string()),
});

export const PipelineDetail = z.looseObject({
  ...Common,
  'execution-trigger': z.optional(ExecutionTrigger),
  'stop-execution-comments': z.optional(z.string()),
});

export const StageDetail = z.looseObject({ ...Common, stage: Name });

export const ActionDetail = z.looseObject({
  ...Common,
  stage: Name,
  action: Name,
  region: z.optional(z.string()),
  type: z.optional(ActionType),
  'execution-result': z.optional(ExecutionResult),
});

const Envelope = {
  version: z.optional(z.union([z.string(), z.number()])),
  id: z.string().check(z.trim(), z.minLength(1, 'id is required (it is the dedupe key)')),
  source: z.literal('aws.codepipeline'),
  account: z.optional(z.pipe(z.union([z.string(), z.number()]), z.transform(String))),
  time: z.iso.datetime({ offset: true }),
  region: z.optional(z.string()),
  resources: z._default(z.array(z.string()), []),
  additionalAttributes: z.optional(z.record(z.string(), z.unknown())),
};

export const PipelineExecutionEvent = z.looseObject({
  ...Envelope,
  'detail-type': z.literal(DETAIL_TYPES.pipeline),
  detail: PipelineDetail,
});
export const StageExecutionEvent = z.looseObject({
  ...Envelope,
  'detail-type': z.literal(DETAIL_TYPES.stage),
  detail: StageDetail,
});
export const ActionExecutionEvent = z.looseObject({
  ...Envelope,
  'detail-type': z.literal(DETAIL_TYPES.action),
  detail: ActionDetail,
});

export const CodePipelineEvent = z.discriminatedUnion('detail-type', [
  PipelineExecutionEvent,
  StageExecutionEvent,
  ActionExecutionEvent,
]);
export type CodePipelineEvent = z.infer<typeof CodePipelineEvent>;
export type PipelineExecutionEvent = z.infer<typeof PipelineExecutionEvent>;
export type StageExecutionEvent = z.infer<typeof StageExecutionEvent>;
export type ActionExecutionEvent = z.infer<typeof ActionExecutionEvent>;

/**
 * The dedupe key of a processed event, which has no `id`: a hash of what identifies the state change (source, type,
 * account, region, time, resources and the whole detail), independent of key order. A redelivery of the same
 * notification gets the same key; two state changes differ in their detail (state, attempt) or time.
 */
export const contentId = (event: Record<string, unknown>): string => {
  const identity = {
    source: event.source,
    'detail-type': event['detail-type'],
    account: event.account === undefined ? undefined : String(event.account),
    region: event.region,
    time: event.time,
    resources: event.resources,
    detail: event.detail,
  };
  return `content-${createHash('sha256').update(canonicalJson(identity)).digest('hex').slice(0, 40)}`;
};

const isProcessed = (event: Record<string, unknown>) =>
  typeof event.detailType === 'string' || typeof event.notificationRuleArn === 'string';

/** Folds the processed (notification) form into the emitted form: `detail-type`, an id, a time. */
const normalize = (raw: unknown, receivedAt: Date): unknown => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  let event = raw as Record<string, unknown>;
  if (!isProcessed(event)) return event;
  if (event['detail-type'] === undefined && typeof event.detailType === 'string') {
    event = { ...event, 'detail-type': event.detailType };
  }
  if (event.id === undefined) event = { ...event, id: contentId(event) };
  if (event.time === undefined) event = { ...event, time: receivedAt.toISOString() };
  return event;
};

/**
 * Parses one CodePipeline state-change event, throwing a ValidationError that names every problem by path
 * (never echoing values: execution triggers carry caller identities). `receivedAt` stands in for the time of a
 * processed event that has none.
 */
export const parseCodePipelineEvent = (raw: unknown, receivedAt: Date = new Date()): CodePipelineEvent => {
  const result = CodePipelineEvent.safeParse(normalize(raw, receivedAt));
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ValidationError(`invalid CodePipeline state-change event: ${issues.join('; ')}`, issues);
  }
  return result.data;
};

export const scopeOf = (event: CodePipelineEvent): EventScope => {
  switch (event['detail-type']) {
    case DETAIL_TYPES.pipeline:
      return 'pipeline';
    case DETAIL_TYPES.stage:
      return 'stage';
    default:
      return 'action';
  }
};
