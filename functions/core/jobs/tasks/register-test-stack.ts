import { ConflictError } from '../../errors.ts';
import * as z from '../../schemas/zod.ts';
import { JobConfigurationError } from '../errors.ts';
import { ownershipTags } from '../ownership.ts';
import { classifyStackStatus, pollWithin, STACK_NAME, STACK_NAME_MESSAGE } from '../polling.ts';
import type { StackInfo } from '../ports.ts';
import { defineTask } from '../task.ts';

/**
 * `register-test-stack`: mark a stack as temporary so the teardown workflow owns it. Tags it
 * (`stagecrew:managed=true`, `stagecrew:pipeline`, `stagecrew:execution-id`, optional `stagecrew:expires-at`)
 * with an UpdateStack that keeps the template and every parameter, and writes a teardown record. The Lambda
 * event carries no pipeline name or execution id, so pass them with CodePipeline variables:
 *
 * ```json
 * {"task":"register-test-stack","stackName":"test-#{codepipeline.PipelineExecutionId}",
 *  "pipeline":"awscicd-pipeline","executionId":"#{codepipeline.PipelineExecutionId}","expiresInHours":8}
 * ```
 */
const EXECUTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const unresolved = (s: string) => s.includes('#{');

const Options = z.strictObject({
  stackName: z.string().check(z.regex(STACK_NAME, STACK_NAME_MESSAGE)),
  pipeline: z.optional(z.string().check(z.regex(/^[A-Za-z0-9.@\-_]{1,100}$/, 'must be a pipeline name'))),
  executionId: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
  /** The sweeper may remove the stack after this many hours even if the pipeline is still running. */
  expiresInHours: z.optional(z.number().check(z.minimum(1), z.maximum(720))),
  timeoutMinutes: z._default(z.int().check(z.minimum(1), z.maximum(1430)), 30),
  pollSeconds: z._default(z.int().check(z.minimum(5), z.maximum(300)), 10),
});

const State = z.object({
  stackId: z.optional(z.string()),
  expiresAt: z.optional(z.string()),
  /** The tagging update was started; now waiting for it to finish. */
  updating: z._default(z.boolean(), false),
});

const ownerOf = (o: z.output<typeof Options>, job: { pipelineName?: string; pipelineExecutionId?: string }) => {
  // The event's pipelineContext (when present) is authoritative; otherwise the resolved variables.
  const pipeline = job.pipelineName ?? o.pipeline;
  const executionId = job.pipelineExecutionId ?? o.executionId;
  if (pipeline === undefined) {
    throw new JobConfigurationError('pipeline', 'required: the name of the pipeline that owns the stack');
  }
  if (executionId === undefined) {
    throw new JobConfigurationError('executionId', 'required: set it to "#{codepipeline.PipelineExecutionId}"');
  }
  if (unresolved(executionId) || !EXECUTION_ID.test(executionId)) {
    throw new JobConfigurationError(
      'executionId',
      `"${executionId.slice(0, 80)}" is not a pipeline execution id; use "#{codepipeline.PipelineExecutionId}"`,
    );
  }
  return { pipeline, executionId };
};

const hasTags = (have: Record<string, string>, want: Record<string, string>) =>
  Object.entries(want).every(([k, v]) => have[k] === v);

/** CloudFormation allows 50 tags per stack. */
const MAX_TAGS = 50;

export const registerTestStack = defineTask({
  name: 'register-test-stack',
  description: 'tag a stack as temporary and hand it to the teardown workflow',
  options: Options,
  state: State,
  timeoutMs: (o) => o.timeoutMinutes * 60_000,
  async run(o, state, ctx) {
    const { pipeline, executionId } = ownerOf(o, ctx.job);
    const expiresAt =
      state?.expiresAt ??
      (o.expiresInHours === undefined ? undefined : new Date(ctx.now() + o.expiresInHours * 3_600_000).toISOString());
    const want = ownershipTags({ pipeline, executionId, ...(expiresAt ? { expiresAt } : {}) });
    let stackId = state?.stackId;
    let updating = state?.updating ?? false;
    let registered = false;
    const register = async (stack: StackInfo) => {
      if (registered) return;
      await ctx.teardown.register({
        pipeline,
        executionId,
        stackName: stack.stackName,
        stackId: stack.stackId,
        ...(expiresAt ? { expiresAt } : {}),
        registeredAt: new Date(ctx.now()).toISOString(),
        jobId: ctx.job.id,
      });
      registered = true;
    };

    return pollWithin<z.output<typeof State>>(ctx, o.pollSeconds * 1000, async () => {
      const stack = await ctx.stacks.describe(stackId ?? o.stackName);
      if (stack === undefined) return { done: { status: 'failed', message: `stack ${o.stackName} does not exist` } };
      stackId = stack.stackId;
      const snapshot = () => ({ stackId: stack.stackId, updating, ...(expiresAt ? { expiresAt } : {}) });
      const cls = classifyStackStatus(stack.status);
      if (cls === 'in-progress') {
        return {
          waiting: `stack ${stack.stackName} is ${stack.status}; ${updating ? 'tagging in progress' : 'waiting to tag it'}`,
          state: snapshot(),
        };
      }
      const tagged = hasTags(stack.tags, want);
      if (tagged) {
        await register(stack);
        return {
          done: {
            status: 'succeeded',
            summary: `stack ${stack.stackName} is registered for teardown (pipeline ${pipeline}, execution ${executionId}${expiresAt ? `, expires ${expiresAt}` : ''})`,
            outputVariables: {
              StackId: stack.stackId,
              StackName: stack.stackName,
              Pipeline: pipeline,
              ExecutionId: executionId,
              ...(expiresAt ? { ExpiresAt: expiresAt } : {}),
            },
          },
        };
      }
      if (updating) {
        const reason = stack.statusReason ? `: ${stack.statusReason}` : '';
        return {
          done: {
            status: 'failed',
            message: `tagging stack ${stack.stackName} ended in ${stack.status} without the tags${reason}`,
          },
        };
      }
      if (cls === 'deleted' || stack.status === 'ROLLBACK_COMPLETE' || stack.status.endsWith('_FAILED')) {
        return {
          done: {
            status: 'failed',
            message: `stack ${stack.stackName} is ${stack.status}; CloudFormation cannot update (tag) it in this state`,
          },
        };
      }
      const merged = { ...stack.tags, ...want };
      if (Object.keys(merged).length > MAX_TAGS) {
        return {
          done: {
            status: 'failed',
            message: `stack ${stack.stackName} would carry ${Object.keys(merged).length} tags; CloudFormation allows ${MAX_TAGS}`,
          },
        };
      }
      // The record first: without the tags the teardown workflow refuses to touch the stack, so a record alone is
      // harmless, while tags without a record would only be found by the sweeper.
      await register(stack);
      let result: 'updating' | 'unchanged';
      try {
        result = await ctx.stacks.updateTags(stack, want);
      } catch (err) {
        // Someone else started an update between our look and our call: wait for it, then tag.
        if (err instanceof ConflictError)
          return { waiting: `stack ${stack.stackName} is busy; waiting to tag it`, state: snapshot() };
        throw err;
      }
      if (result === 'unchanged') {
        updating = false;
        return {
          done: {
            status: 'succeeded',
            summary: `stack ${stack.stackName} already carried the tags; registered for teardown`,
            outputVariables: {
              StackId: stack.stackId,
              StackName: stack.stackName,
              Pipeline: pipeline,
              ExecutionId: executionId,
              ...(expiresAt ? { ExpiresAt: expiresAt } : {}),
            },
          },
        };
      }
      updating = true;
      return { waiting: `tagging stack ${stack.stackName} (UpdateStack started)`, state: snapshot() };
    });
  },
});
