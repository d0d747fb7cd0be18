import * as z from '../../schemas/zod.ts';
import { classifyStackStatus, pollWithin, STACK_NAME, STACK_NAME_MESSAGE } from '../polling.ts';
import { defineTask } from '../task.ts';

/**
 * `stack-outputs`: read a CloudFormation stack's outputs into output variables, so a later action can use them
 * (`#{TestStack.ApiUrl}` with the action's namespace `TestStack`). Waits while the stack is being changed.
 *
 * ```json
 * {"task":"stack-outputs","stackName":"test-#{codepipeline.PipelineExecutionId}","outputs":["ApiUrl"]}
 * ```
 */
const Options = z.strictObject({
  stackName: z.string().check(z.regex(STACK_NAME, STACK_NAME_MESSAGE)),
  /** Output keys to export (all when omitted); a listed key the stack lacks fails the job. */
  outputs: z.optional(
    z
      .array(z.string().check(z.regex(/^[A-Za-z0-9]+$/, 'must be an output key (letters and digits)')))
      .check(z.maxLength(60)),
  ),
  /** Prepended to every variable key, e.g. `Test` → `TestApiUrl`. */
  prefix: z._default(
    z.string().check(z.regex(/^[A-Za-z0-9@\-_]*$/, 'may only contain letters, digits, @, - and _'), z.maxLength(50)),
    '',
  ),
  timeoutMinutes: z._default(z.int().check(z.minimum(1), z.maximum(1430)), 30),
  pollSeconds: z._default(z.int().check(z.minimum(5), z.maximum(300)), 15),
});

/** Stable statuses whose outputs are meaningful (an update that rolled back keeps the previous outputs). */
const readable = (status: string) =>
  classifyStackStatus(status) === 'complete' || status === 'UPDATE_ROLLBACK_COMPLETE';

export const stackOutputs = defineTask({
  name: 'stack-outputs',
  description: "read a CloudFormation stack's outputs into output variables",
  options: Options,
  state: z.object({ stackId: z.string() }),
  timeoutMs: (o) => o.timeoutMinutes * 60_000,
  async run(o, state, ctx) {
    let stackId = state?.stackId;
    return pollWithin<{ stackId: string }>(ctx, o.pollSeconds * 1000, async () => {
      const stack = await ctx.stacks.describe(stackId ?? o.stackName);
      if (stack === undefined) return { done: { status: 'failed', message: `stack ${o.stackName} does not exist` } };
      stackId = stack.stackId;
      if (classifyStackStatus(stack.status) === 'in-progress') {
        return { waiting: `stack ${stack.stackName} is ${stack.status}; waiting to read outputs`, state: { stackId } };
      }
      if (!readable(stack.status)) {
        return {
          done: {
            status: 'failed',
            message: `stack ${stack.stackName} is ${stack.status}; its outputs are not usable`,
          },
        };
      }
      const keys = o.outputs ?? Object.keys(stack.outputs).sort();
      const missing = keys.filter((k) => !Object.hasOwn(stack.outputs, k));
      if (missing.length > 0) {
        const has = Object.keys(stack.outputs).sort().join(', ') || 'none';
        return {
          done: {
            status: 'failed',
            message: `stack ${stack.stackName} has no output ${missing.join(', ')} (outputs: ${has})`,
          },
        };
      }
      const outputVariables = Object.fromEntries(keys.map((k) => [`${o.prefix}${k}`, stack.outputs[k] ?? '']));
      const note = stack.status === 'UPDATE_ROLLBACK_COMPLETE' ? ' (last update rolled back: previous outputs)' : '';
      return {
        done: {
          status: 'succeeded',
          summary: `read ${keys.length} output(s) of ${stack.stackName}${note}: ${keys.join(', ') || 'none'}`,
          outputVariables,
        },
      };
    });
  },
});
