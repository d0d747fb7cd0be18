import { ValidationError } from './errors.ts';
import * as z from './schemas/zod.ts';

/**
 * Stagecrew's runtime configuration: one JSON document in SSM Parameter Store (SETTINGS_PARAMETER_NAME),
 * read through Powertools parameters with caching, so routing and policy change without a redeploy.
 * template.yaml seeds it from the stack parameters; the local cloud seeds it from its local config.
 *
 * Patterns (`pipeline`, `stage`, `action`) are globs: `*` matches any run of characters.
 */
const Glob = z.string().check(z.minLength(1), z.maxLength(256));
const NonEmpty = z.string().check(z.minLength(1));
/** An integer of at least `min`, and at most `max` when given. */
const int = (min: number, max?: number) =>
  max === undefined ? z.int().check(z.minimum(min)) : z.int().check(z.minimum(min), z.maximum(max));

/** Longest per-stack deletion deadline (one day); the teardown state schema enforces the same cap. */
export const DELETE_TIMEOUT_MAX_MINUTES = 1440;

export const ApproverPolicy = z.object({
  /** Slack user ids (U…/W…), Slack user group ids (S…), emails, or `@domain` entries. Empty: any recipient. */
  allow: z._default(z.array(NonEmpty), []),
  quorum: z._default(int(1, 10), 1),
  allowSelfApproval: z._default(z.boolean(), false),
  rejectNeedsReason: z._default(z.boolean(), true),
});
export type ApproverPolicy = z.infer<typeof ApproverPolicy>;

export const ApprovalRoute = z.object({
  slackChannels: z._default(z.array(NonEmpty), []),
  emails: z._default(z.array(z.email()), []),
  policy: z._default(ApproverPolicy, ApproverPolicy.parse({})),
  linkTtlMinutes: z._default(int(5, 10_080), 1440),
  reminderMinutes: z._default(int(0), 120),
  /** Minutes before expiry at which the escalation audience is notified (0 = never). */
  escalateBeforeMinutes: z._default(int(0), 60),
  escalation: z._default(
    z.object({
      slackChannels: z._default(z.array(z.string()), []),
      emails: z._default(z.array(z.email()), []),
    }),
    { slackChannels: [], emails: [] },
  ),
});
export type ApprovalRoute = z.infer<typeof ApprovalRoute>;

/**
 * A rule names only what it changes: its fields carry no defaults (a `z.partial()` of ApprovalRoute would fill
 * them in and silently reset, say, the defaults' allow-list). Approvals merge it over the defaults field by field.
 */
export const ApprovalRule = z.object({
  pipeline: z._default(Glob, '*'),
  stage: z._default(Glob, '*'),
  action: z._default(Glob, '*'),
  slackChannels: z.optional(z.array(NonEmpty)),
  emails: z.optional(z.array(z.email())),
  policy: z.optional(
    z.object({
      allow: z.optional(z.array(NonEmpty)),
      quorum: z.optional(int(1, 10)),
      allowSelfApproval: z.optional(z.boolean()),
      rejectNeedsReason: z.optional(z.boolean()),
    }),
  ),
  linkTtlMinutes: z.optional(int(5, 10_080)),
  reminderMinutes: z.optional(int(0)),
  escalateBeforeMinutes: z.optional(int(0)),
  escalation: z.optional(
    z.object({ slackChannels: z.optional(z.array(z.string())), emails: z.optional(z.array(z.email())) }),
  ),
});
export type ApprovalRule = z.infer<typeof ApprovalRule>;

export const NotificationRule = z.object({
  pipeline: z._default(Glob, '*'),
  states: z._default(z.array(z.string()), ['FAILED']),
  /** Which detail-types the rule covers: pipeline, stage or action state changes. */
  scope: z._default(z.array(z.enum(['pipeline', 'stage', 'action'])), ['pipeline']),
  slackChannels: z._default(z.array(NonEmpty), []),
  emails: z._default(z.array(z.email()), []),
});
export type NotificationRule = z.infer<typeof NotificationRule>;

export const TeardownAllowRule = z.object({
  pipeline: Glob,
  /** Stack-name glob; `{executionId}` is replaced by the execution id before matching. */
  stackName: Glob,
});

/** Which stage of which pipelines counts as "deployed to production" for the delivery figures (first match wins). */
export const ProductionStageRule = z.object({
  pipeline: z._default(Glob, '*'),
  stage: z.string().check(z.minLength(1), z.maxLength(100)),
});

/**
 * The accounts this hub works in besides its own (docs/ORGANIZATION.md): the only accounts it ever assumes a role in,
 * the regions the sweeper looks in, and the member role (member.yaml) with its external id.
 */
export const OrganizationSettings = z.object({
  accounts: z._default(z.array(z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit account id'))), []),
  /** Regions the sweeper looks for expired stacks in, in every account; empty: the hub's own region. */
  regions: z._default(
    z.array(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be a region such as eu-west-1'))),
    [],
  ),
  roleName: z._default(z.string().check(z.regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM role name')), 'stagecrew-member'),
  /** member.yaml's ExternalId; empty: none is sent (a member role created by member.yaml then refuses). */
  externalId: z._default(
    z.string().check(z.regex(/^$|^[\w+=,.@:/-]{2,1224}$/, 'must be 2-1224 characters of [\\w+=,.@:/-]')),
    '',
  ),
});
export type OrganizationSettings = z.infer<typeof OrganizationSettings>;

export const Settings = z.object({
  version: z._default(z.literal(1), 1),
  organization: z._default(OrganizationSettings, {
    accounts: [],
    regions: [],
    roleName: 'stagecrew-member',
    externalId: '',
  }),
  /** Delivery figures (docs/METRICS.md). No rule for a pipeline: its execution's success is the deployment. */
  delivery: z._default(
    z.object({
      production: z._default(z.array(ProductionStageRule), []),
      /** A failure this long after a production deployment (and before the next one) counts against it. */
      failureWindowHours: z._default(z.number().check(z.minimum(1), z.maximum(720)), 24),
    }),
    { production: [], failureWindowHours: 24 },
  ),
  approvals: z._default(
    z.object({
      defaults: z._default(ApprovalRoute, ApprovalRoute.parse({})),
      rules: z._default(z.array(ApprovalRule), []),
    }),
    { defaults: ApprovalRoute.parse({}), rules: [] },
  ),
  notifications: z._default(
    z.object({
      emailSender: z._default(z.string(), ''),
      rules: z._default(z.array(NotificationRule), []),
      /** At most this many messages per pipeline per window, so a flapping pipeline cannot flood a channel. */
      rateLimit: z._default(z.object({ perPipeline: z._default(int(1), 10), windowSeconds: z._default(int(1), 600) }), {
        perPipeline: 10,
        windowSeconds: 600,
      }),
    }),
    { emailSender: '', rules: [], rateLimit: { perPipeline: 10, windowSeconds: 600 } },
  ),
  teardown: z._default(
    z.object({
      onSuccess: z._default(z.boolean(), false),
      graceSeconds: z._default(int(0, 86_400), 300),
      maxAgeHours: z._default(z.number().check(z.minimum(1)), 24),
      dryRun: z._default(z.boolean(), false),
      onDeleteFailed: z._default(z.enum(['report', 'retain', 'force']), 'report'),
      allowRules: z._default(z.array(TeardownAllowRule), []),
      slackChannels: z._default(z.array(z.string()), []),
      emails: z._default(z.array(z.email()), []),
      /** Tear down on SUPERSEDED too: only safe when test stack names are per execution (shared names are reused). */
      onSuperseded: z._default(z.boolean(), false),
      /** Stacks deleted in parallel per teardown run (Map MaxConcurrency). */
      maxConcurrency: z._default(int(1, 40), 5),
      /** Overall deadline for one stack's deletion (events, then bounded polling); then TIMED_OUT. */
      deleteTimeoutMinutes: z._default(int(5, DELETE_TIMEOUT_MAX_MINUTES), 90),
      /** Delete attempts per stack, counting the first (remediation happens between attempts). */
      deleteAttempts: z._default(int(1, 5), 2),
      /** Empty owned S3 buckets / ECR repositories that block deletion before retrying. */
      remediate: z._default(z.boolean(), true),
      /**
       * The service role DeleteStack passes (`RoleARN`) for stacks created without one; CloudFormation would
       * otherwise delete their resources with the teardown function's own credentials, which cannot.
       */
      deletionRoleArn: z.optional(
        z.string().check(z.regex(/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'must be an IAM role ARN')),
      ),
    }),
    {
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
    },
  ),
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
