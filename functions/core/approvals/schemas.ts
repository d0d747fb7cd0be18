import * as z from 'zod';

/**
 * The JSON string CodePipeline publishes to the approval SNS topic (`region`, `consoleLink` are top level).
 * An action without an external link or custom data gets `"externalEntityLink": null` and `"customData": null`
 * (the CodePipeline user guide's JSON format page, and real messages), so the optional fields are nullish.
 */
export const SnsApprovalMessage = z.object({
  region: z.string().min(1),
  consoleLink: z.string().nullish(),
  approval: z.object({
    pipelineName: z.string().min(1),
    stageName: z.string().min(1),
    actionName: z.string().min(1),
    token: z.string().min(1).max(256),
    // Minute precision, e.g. 2016-07-07T20:22Z.
    expires: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date'),
    externalEntityLink: z.string().nullish(),
    approvalReviewLink: z.string().nullish(),
    customData: z.string().max(1000).nullish(),
  }),
});
export type SnsApprovalMessage = z.infer<typeof SnsApprovalMessage>;

export const SnsEvent = z.object({
  Records: z
    .array(
      z.object({
        EventSource: z.literal('aws:sns'),
        Sns: z.object({ Message: z.string(), MessageId: z.string().optional(), Timestamp: z.string().optional() }),
      }),
    )
    .min(1),
});

export const ActionStateChange = z.object({
  source: z.literal('aws.codepipeline'),
  'detail-type': z.literal('CodePipeline Action Execution State Change'),
  time: z.string(),
  region: z.string(),
  detail: z.object({
    pipeline: z.string().min(1),
    'execution-id': z.string().min(1),
    stage: z.string().min(1),
    action: z.string().min(1),
    state: z.string().min(1),
    type: z.object({ category: z.string(), provider: z.string().optional(), owner: z.string().optional() }),
  }),
});
export type ActionStateChange = z.infer<typeof ActionStateChange>;

export const PipelineStateChange = z.object({
  source: z.literal('aws.codepipeline'),
  'detail-type': z.literal('CodePipeline Pipeline Execution State Change'),
  time: z.string(),
  region: z.string(),
  detail: z.object({
    pipeline: z.string().min(1),
    'execution-id': z.string().min(1),
    state: z.string().min(1),
  }),
});
export type PipelineStateChange = z.infer<typeof PipelineStateChange>;

export const RequestFunctionEvent = z.union([SnsEvent, ActionStateChange, PipelineStateChange]);
export type RequestFunctionEvent = z.infer<typeof RequestFunctionEvent>;

/** The acting user: Slack always sends an id, and a vote without one could not be keyed to a person. */
const SlackUser = z.object({ id: z.string().min(1), name: z.string().optional(), username: z.string().optional() });

/** The subset of a Slack interaction payload Stagecrew reads. */
export const SlackInteraction = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('block_actions'),
    user: SlackUser,
    trigger_id: z.string().optional(),
    /** Where Slack takes an answer to this interaction for up to 30 minutes (ephemeral to the clicker). */
    response_url: z.string().optional(),
    channel: z.object({ id: z.string() }).optional(),
    container: z.object({ message_ts: z.string().optional(), channel_id: z.string().optional() }).optional(),
    message: z.object({ ts: z.string() }).optional(),
    actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).min(1),
  }),
  z.object({
    type: z.literal('view_submission'),
    user: SlackUser,
    view: z.object({
      callback_id: z.string(),
      private_metadata: z.string(),
      state: z.object({
        values: z.record(z.string(), z.record(z.string(), z.object({ value: z.string().nullish() }))),
      }),
    }),
  }),
]);
export type SlackInteraction = z.infer<typeof SlackInteraction>;

/** The reason modal's `private_metadata` (set by `rejectReasonView`, echoed back by Slack on submission). */
export const RejectViewMetadata = z.object({
  id: z.string(),
  channel: z.string().optional(),
  ts: z.string().optional(),
});
export type RejectViewMetadata = z.infer<typeof RejectViewMetadata>;
