import * as z from '../schemas/zod.ts';

const NonEmpty = z.string().check(z.minLength(1));

/**
 * The JSON string CodePipeline publishes to the approval SNS topic (`region`, `consoleLink` are top level).
 * An action without an external link or custom data gets `"externalEntityLink": null` and `"customData": null`
 * (the CodePipeline user guide's JSON format page, and real messages), so the optional fields are nullish.
 */
export const SnsApprovalMessage = z.object({
  region: NonEmpty,
  consoleLink: z.nullish(z.string()),
  approval: z.object({
    pipelineName: NonEmpty,
    stageName: NonEmpty,
    actionName: NonEmpty,
    token: z.string().check(z.minLength(1), z.maxLength(256)),
    // Minute precision, e.g. 2016-07-07T20:22Z.
    expires: z.string().check(z.refine((s) => !Number.isNaN(Date.parse(s)), 'not a date')),
    externalEntityLink: z.nullish(z.string()),
    approvalReviewLink: z.nullish(z.string()),
    customData: z.nullish(z.string().check(z.maxLength(1000))),
  }),
});
export type SnsApprovalMessage = z.infer<typeof SnsApprovalMessage>;

export const SnsEvent = z.object({
  Records: z
    .array(
      z.object({
        EventSource: z.literal('aws:sns'),
        Sns: z.object({ Message: z.string(), MessageId: z.optional(z.string()), Timestamp: z.optional(z.string()) }),
      }),
    )
    .check(z.minLength(1)),
});

export const ActionStateChange = z.object({
  source: z.literal('aws.codepipeline'),
  'detail-type': z.literal('CodePipeline Action Execution State Change'),
  time: z.string(),
  /** The pipeline's account (a member account's, when the event was forwarded to the hub: docs/ORGANIZATION.md). */
  account: z.optional(z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit account id'))),
  region: z.string(),
  detail: z.object({
    pipeline: NonEmpty,
    'execution-id': NonEmpty,
    stage: NonEmpty,
    action: NonEmpty,
    state: NonEmpty,
    type: z.object({ category: z.string(), provider: z.optional(z.string()), owner: z.optional(z.string()) }),
  }),
});
export type ActionStateChange = z.infer<typeof ActionStateChange>;

export const PipelineStateChange = z.object({
  source: z.literal('aws.codepipeline'),
  'detail-type': z.literal('CodePipeline Pipeline Execution State Change'),
  time: z.string(),
  region: z.string(),
  detail: z.object({
    pipeline: NonEmpty,
    'execution-id': NonEmpty,
    state: NonEmpty,
  }),
});
export type PipelineStateChange = z.infer<typeof PipelineStateChange>;

export const RequestFunctionEvent = z.union([SnsEvent, ActionStateChange, PipelineStateChange]);
export type RequestFunctionEvent = z.infer<typeof RequestFunctionEvent>;

/** The acting user: Slack always sends an id, and a vote without one could not be keyed to a person. */
const SlackUser = z.object({ id: NonEmpty, name: z.optional(z.string()), username: z.optional(z.string()) });

/** The subset of a Slack interaction payload Stagecrew reads. */
export const SlackInteraction = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('block_actions'),
    user: SlackUser,
    trigger_id: z.optional(z.string()),
    /** Where Slack takes an answer to this interaction for up to 30 minutes (ephemeral to the clicker). */
    response_url: z.optional(z.string()),
    channel: z.optional(z.object({ id: z.string() })),
    container: z.optional(z.object({ message_ts: z.optional(z.string()), channel_id: z.optional(z.string()) })),
    message: z.optional(z.object({ ts: z.string() })),
    actions: z.array(z.object({ action_id: z.string(), value: z.optional(z.string()) })).check(z.minLength(1)),
  }),
  z.object({
    type: z.literal('view_submission'),
    user: SlackUser,
    view: z.object({
      callback_id: z.string(),
      private_metadata: z.string(),
      state: z.object({
        values: z.record(z.string(), z.record(z.string(), z.object({ value: z.nullish(z.string()) }))),
      }),
    }),
  }),
]);
export type SlackInteraction = z.infer<typeof SlackInteraction>;

/** The reason modal's `private_metadata` (set by `rejectReasonView`, echoed back by Slack on submission). */
export const RejectViewMetadata = z.object({
  id: z.string(),
  channel: z.optional(z.string()),
  ts: z.optional(z.string()),
});
export type RejectViewMetadata = z.infer<typeof RejectViewMetadata>;
