import * as z from 'zod';
import { ValidationError } from './errors.ts';

/**
 * Stagecrew's runtime configuration: one JSON document in SSM Parameter Store (SETTINGS_PARAMETER_NAME),
 * read through Powertools parameters with caching, so routing and policy change without a redeploy.
 * template.yaml seeds it from the stack parameters; the local cloud seeds it from its local config.
 *
 * Patterns (`pipeline`, `stage`, `action`) are globs: `*` matches any run of characters.
 */
const Glob = z.string().min(1).max(256);

/** Longest per-stack deletion deadline (one day); the teardown state schema enforces the same cap. */
export const DELETE_TIMEOUT_MAX_MINUTES = 1440;

export const ApproverPolicy = z.object({
  /** Slack user ids (U…/W…), Slack user group ids (S…), emails, or `@domain` entries. Empty: any recipient. */
  allow: z.array(z.string().min(1)).default([]),
  quorum: z.number().int().min(1).max(10).default(1),
  allowSelfApproval: z.boolean().default(false),
  rejectNeedsReason: z.boolean().default(true),
});
export type ApproverPolicy = z.infer<typeof ApproverPolicy>;

export const ApprovalRoute = z.object({
  slackChannels: z.array(z.string().min(1)).default([]),
  emails: z.array(z.string().email()).default([]),
  policy: ApproverPolicy.default(ApproverPolicy.parse({})),
  linkTtlMinutes: z.number().int().min(5).max(10_080).default(1440),
  reminderMinutes: z.number().int().min(0).default(120),
  /** Minutes before expiry at which the escalation audience is notified (0 = never). */
  escalateBeforeMinutes: z.number().int().min(0).default(60),
  escalation: z
    .object({ slackChannels: z.array(z.string()).default([]), emails: z.array(z.string().email()).default([]) })
    .default({ slackChannels: [], emails: [] }),
});
export type ApprovalRoute = z.infer<typeof ApprovalRoute>;

/**
 * A rule names only what it changes: its fields carry no defaults (a `.partial()` of ApprovalRoute would fill
 * them in and silently reset, say, the defaults' allow-list). Approvals merge it over the defaults field by field.
 */
export const ApprovalRule = z.object({
  pipeline: Glob.default('*'),
  stage: Glob.default('*'),
  action: Glob.default('*'),
  slackChannels: z.array(z.string().min(1)).optional(),
  emails: z.array(z.string().email()).optional(),
  policy: z
    .object({
      allow: z.array(z.string().min(1)).optional(),
      quorum: z.number().int().min(1).max(10).optional(),
      allowSelfApproval: z.boolean().optional(),
      rejectNeedsReason: z.boolean().optional(),
    })
    .optional(),
  linkTtlMinutes: z.number().int().min(5).max(10_080).optional(),
  reminderMinutes: z.number().int().min(0).optional(),
  escalateBeforeMinutes: z.number().int().min(0).optional(),
  escalation: z
    .object({ slackChannels: z.array(z.string()).optional(), emails: z.array(z.string().email()).optional() })
    .optional(),
});
export type ApprovalRule = z.infer<typeof ApprovalRule>;

export const NotificationRule = z.object({
  pipeline: Glob.default('*'),
  states: z.array(z.string()).default(['FAILED']),
  /** Which detail-types the rule covers: pipeline, stage or action state changes. */
  scope: z.array(z.enum(['pipeline', 'stage', 'action'])).default(['pipeline']),
  slackChannels: z.array(z.string().min(1)).default([]),
  emails: z.array(z.string().email()).default([]),
});
export type NotificationRule = z.infer<typeof NotificationRule>;

export const TeardownAllowRule = z.object({
  pipeline: Glob,
  /** Stack-name glob; `{executionId}` is replaced by the execution id before matching. */
  stackName: Glob,
});

/** Which stage of which pipelines counts as "deployed to production" for the delivery figures (first match wins). */
export const ProductionStageRule = z.object({ pipeline: Glob.default('*'), stage: z.string().min(1).max(100) });

export const Settings = z.object({
  version: z.literal(1).default(1),
  /** Delivery figures (docs/METRICS.md). No rule for a pipeline: its execution's success is the deployment. */
  delivery: z
    .object({
      production: z.array(ProductionStageRule).default([]),
      /** A failure this long after a production deployment (and before the next one) counts against it. */
      failureWindowHours: z.number().min(1).max(720).default(24),
    })
    .default({ production: [], failureWindowHours: 24 }),
  approvals: z
    .object({ defaults: ApprovalRoute.default(ApprovalRoute.parse({})), rules: z.array(ApprovalRule).default([]) })
    .default({ defaults: ApprovalRoute.parse({}), rules: [] }),
  notifications: z
    .object({
      emailSender: z.string().default(''),
      rules: z.array(NotificationRule).default([]),
      /** At most this many messages per pipeline per window, so a flapping pipeline cannot flood a channel. */
      rateLimit: z
        .object({
          perPipeline: z.number().int().min(1).default(10),
          windowSeconds: z.number().int().min(1).default(600),
        })
        .default({ perPipeline: 10, windowSeconds: 600 }),
    })
    .default({ emailSender: '', rules: [], rateLimit: { perPipeline: 10, windowSeconds: 600 } }),
  teardown: z
    .object({
      onSuccess: z.boolean().default(false),
      graceSeconds: z.number().int().min(0).max(86_400).default(300),
      maxAgeHours: z.number().min(1).default(24),
      dryRun: z.boolean().default(false),
      onDeleteFailed: z.enum(['report', 'retain', 'force']).default('report'),
      allowRules: z.array(TeardownAllowRule).default([]),
      slackChannels: z.array(z.string()).default([]),
      emails: z.array(z.string().email()).default([]),
      /** Tear down on SUPERSEDED too: only safe when test stack names are per execution (shared names are reused). */
      onSuperseded: z.boolean().default(false),
      /** Stacks deleted in parallel per teardown run (Map MaxConcurrency). */
      maxConcurrency: z.number().int().min(1).max(40).default(5),
      /** Overall deadline for one stack's deletion (events, then bounded polling); then TIMED_OUT. */
      deleteTimeoutMinutes: z.number().int().min(5).max(DELETE_TIMEOUT_MAX_MINUTES).default(90),
      /** Delete attempts per stack, counting the first (remediation happens between attempts). */
      deleteAttempts: z.number().int().min(1).max(5).default(2),
      /** Empty owned S3 buckets / ECR repositories that block deletion before retrying. */
      remediate: z.boolean().default(true),
      /**
       * The service role DeleteStack passes (`RoleARN`) for stacks created without one; CloudFormation would
       * otherwise delete their resources with the teardown function's own credentials, which cannot.
       */
      deletionRoleArn: z
        .string()
        .regex(/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'must be an IAM role ARN')
        .optional(),
    })
    .default({
      onSuperseded: false,
      maxConcurrency: 5,
      deleteTimeoutMinutes: 90,
      deleteAttempts: 2,
      remediate: true,
      onSuccess: false,
      graceSeconds: 300,
      maxAgeHours: 24,
      dryRun: false,
      onDeleteFailed: 'report',
      allowRules: [],
      slackChannels: [],
      emails: [],
    }),
});
export type Settings = z.infer<typeof Settings>;

/** Parses a settings document, failing with every problem named by path. */
export const parseSettings = (raw: unknown): Settings => {
  const result = Settings.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ValidationError(`invalid Stagecrew settings: ${issues.join('; ')}`, issues);
  }
  return result.data;
};

/** Glob match where `*` is any run of characters (case-sensitive, anchored). */
export const globMatch = (pattern: string, value: string): boolean => {
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return re.test(value);
};

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The delivery policy of one pipeline: its production stage (first matching rule) and the failure window. */
export const deliveryPolicy = (
  settings: Settings['delivery'],
  pipeline: string,
): { productionStage: string | undefined; failureWindowMs: number } => ({
  productionStage: settings.production.find((r) => globMatch(r.pipeline, pipeline))?.stage,
  failureWindowMs: settings.failureWindowHours * 3_600_000,
});
