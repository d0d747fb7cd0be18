import { z } from 'zod';
import { ValidationError } from '../errors.ts';

/**
 * CodePipeline's EventBridge state-change events (`source: aws.codepipeline`), parsed with our own schema because
 * the documented samples drift: `detail.version` and `type.version` are numbers in some samples and strings in
 * others, optional fields come and go, and `@types/aws-lambda` lacks STOPPING, STOPPED and ABANDONED.
 * Events delivered through Developer Tools notifications ("processed" form) rename `detail-type` to `detailType`
 * and add `additionalAttributes`; both forms are accepted. Unknown fields are kept, never rejected.
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
const Version = z
  .union([z.number(), z.string().trim().regex(/^\d+$/, 'must be a number').transform(Number)])
  .pipe(z.number().int().nonnegative());

/** The API's pipeline execution id is a UUID; the docs once showed an ARN there, which we refuse explicitly. */
const EXECUTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ExecutionId = z
  .string()
  .trim()
  .regex(EXECUTION_ID, 'execution-id must be a pipeline execution id (UUID), e.g. not an ARN');

const Name = z.string().trim().min(1).max(256);

const ActionType = z.looseObject({
  owner: z.string().optional(),
  category: z.string().optional(),
  provider: z.string().optional(),
  version: Version.optional(),
});

const ExecutionResult = z.looseObject({
  'external-execution-url': z.string().optional(),
  'external-execution-summary': z.string().optional(),
  'external-execution-id': z.string().optional(),
  'error-code': z.string().optional(),
});

const Common = {
  pipeline: Name,
  'execution-id': ExecutionId,
  state: State,
  version: Version.optional(),
  'pipeline-execution-attempt': Version.optional(),
};

export const PipelineDetail = z.looseObject({
  ...Common,
  'execution-trigger': z
    .looseObject({ 'trigger-type': z.string().optional(), 'trigger-detail': z.string().optional() })
    .optional(),
  'stop-execution-comments': z.string().optional(),
});

export const StageDetail = z.looseObject({ ...Common, stage: Name });

export const ActionDetail = z.looseObject({
  ...Common,
  stage: Name,
  action: Name,
  region: z.string().optional(),
  type: ActionType.optional(),
  'execution-result': ExecutionResult.optional(),
});

const Envelope = {
  version: z.union([z.string(), z.number()]).optional(),
  id: z.string().trim().min(1, 'id is required (it is the dedupe key)'),
  source: z.literal('aws.codepipeline'),
  account: z.union([z.string(), z.number()]).transform(String).optional(),
  time: z.iso.datetime({ offset: true }),
  region: z.string().optional(),
  resources: z.array(z.string()).default([]),
  additionalAttributes: z.record(z.string(), z.unknown()).optional(),
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

/** The processed (notification) form names the detail-type `detailType`; fold it into the emitted form. */
const normalize = (raw: unknown): unknown => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const event = raw as Record<string, unknown>;
  if (event['detail-type'] === undefined && typeof event.detailType === 'string') {
    return { ...event, 'detail-type': event.detailType };
  }
  return event;
};

/**
 * Parses one CodePipeline state-change event, throwing a ValidationError that names every problem by path
 * (never echoing values: execution triggers carry caller identities).
 */
export const parseCodePipelineEvent = (raw: unknown): CodePipelineEvent => {
  const result = CodePipelineEvent.safeParse(normalize(raw));
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
