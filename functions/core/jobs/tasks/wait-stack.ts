import * as z from '../../schemas/zod.ts';
import { classifyStackStatus, pollWithin, STACK_NAME, STACK_NAME_MESSAGE, type Step } from '../polling.ts';
import { defineTask } from '../task.ts';

/**
 * `wait-stack`: wait until a CloudFormation stack reaches one of the target statuses. A stable status that is
 * not a target (a rollback, a failure) fails the job at once; so does a missing stack, unless the target is
 * DELETE_COMPLETE.
 *
 * ```json
 * {"task":"wait-stack","stackName":"test-#{codepipeline.PipelineExecutionId}",
 *  "targetStatus":["CREATE_COMPLETE","UPDATE_COMPLETE"],"timeoutMinutes":60}
 * ```
 */
const Status = z.string().check(z.regex(/^[A-Z_]+$/, 'must be a CloudFormation stack status such as UPDATE_COMPLETE'));

const Options = z.strictObject({
  stackName: z.string().check(z.regex(STACK_NAME, STACK_NAME_MESSAGE)),
  targetStatus: z.pipe(
    z._default(z.union([Status, z.array(Status).check(z.minLength(1), z.maxLength(20))]), [
      'CREATE_COMPLETE',
      'UPDATE_COMPLETE',
      'IMPORT_COMPLETE',
    ]),
    z.transform((s) => (Array.isArray(s) ? s : [s])),
  ),
  /** A stack that does not exist yet (created by a parallel action) is waited for instead of failing. */
  waitForCreation: z._default(z.boolean(), false),
  timeoutMinutes: z._default(z.int().check(z.minimum(1), z.maximum(1430)), 60),
  pollSeconds: z._default(z.int().check(z.minimum(5), z.maximum(300)), 15),
});

const State = z.object({ stackId: z.optional(z.string()), last: z.optional(z.string()) });

export const waitStack = defineTask({
  name: 'wait-stack',
  description: 'wait until a CloudFormation stack reaches a target status',
  options: Options,
  state: State,
  timeoutMs: (o) => o.timeoutMinutes * 60_000,
  async run(o, state, ctx) {
    let stackId = state?.stackId;
    return pollWithin(ctx, o.pollSeconds * 1000, async (): Promise<Step<z.output<typeof State>>> => {
      // Once seen, follow the stack by id: a deleted stack is only found by id, and a new stack with the same
      // name must not be mistaken for it.
      const stack = await ctx.stacks.describe(stackId ?? o.stackName);
      if (stack === undefined) {
        if (o.targetStatus.includes('DELETE_COMPLETE')) {
          return {
            done: {
              status: 'succeeded',
              summary: `stack ${o.stackName} is gone`,
              outputVariables: { StackStatus: 'DELETE_COMPLETE' },
            },
          };
        }
        if (o.waitForCreation && stackId === undefined) {
          return { waiting: `waiting for stack ${o.stackName} to be created`, state: {} };
        }
        return { done: { status: 'failed', message: `stack ${o.stackName} does not exist` } };
      }
      stackId = stack.stackId;
      if (o.targetStatus.includes(stack.status)) {
        return {
          done: {
            status: 'succeeded',
            summary: `stack ${stack.stackName} is ${stack.status}`,
            outputVariables: { StackId: stack.stackId, StackName: stack.stackName, StackStatus: stack.status },
          },
        };
      }
      if (classifyStackStatus(stack.status) !== 'in-progress') {
        const reason = stack.statusReason ? `: ${stack.statusReason}` : '';
        return {
          done: {
            status: 'failed',
            message: `stack ${stack.stackName} settled in ${stack.status}, not ${o.targetStatus.join(' or ')}${reason}`,
          },
        };
      }
      return {
        waiting: `stack ${stack.stackName} is ${stack.status}; waiting for ${o.targetStatus.join(' or ')}`,
        state: { stackId: stack.stackId, last: stack.status },
      };
    });
  },
});
