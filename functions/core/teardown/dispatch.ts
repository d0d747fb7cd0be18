import * as z from '../schemas/zod.ts';
import { parseWith } from './model.ts';
import { type FinishDeps, finish } from './report.ts';
import {
  awaitStep,
  checkExecution,
  concludeStep,
  deleteStep,
  diagnoseStep,
  discover,
  inspectStep,
  recordStep,
  remediateStep,
  type StepDeps,
  start,
} from './steps.ts';

/** The TeardownTaskFunction's event: which workflow state called it, with that state's Parameters. */
export const TaskEvent = z.discriminatedUnion('action', [
  z.object({ action: z.literal('start'), input: z.unknown(), executionName: z.string().check(z.minLength(1)) }),
  z.object({ action: z.literal('check-execution'), request: z.unknown() }),
  z.object({ action: z.literal('discover'), request: z.unknown() }),
  z.object({ action: z.literal('inspect'), state: z.unknown() }),
  z.object({ action: z.literal('delete'), state: z.unknown(), taskToken: z.string().check(z.minLength(1)) }),
  z.object({ action: z.literal('await'), state: z.unknown(), taskToken: z.string().check(z.minLength(1)) }),
  z.object({ action: z.literal('conclude'), state: z.unknown() }),
  z.object({ action: z.literal('diagnose'), state: z.unknown() }),
  z.object({ action: z.literal('remediate'), state: z.unknown() }),
  z.object({ action: z.literal('record'), state: z.unknown() }),
  z.object({
    action: z.literal('finish'),
    request: z.unknown(),
    results: z.optional(z.unknown()),
    execution: z.optional(z.unknown()),
  }),
]);
export type TaskEvent = z.infer<typeof TaskEvent>;

export type DispatchDeps = StepDeps & { finish: FinishDeps };

/** The boundary parse of TeardownTaskFunction: which step, with its input (ValidationError for anything else). */
export const parseTaskEvent = (raw: unknown): TaskEvent => parseWith(TaskEvent, raw, 'teardown task event');

export const dispatch = async (e: TaskEvent, deps: DispatchDeps): Promise<unknown> => {
  switch (e.action) {
    case 'start':
      return start(e.input, e.executionName, deps);
    case 'check-execution':
      return checkExecution(e.request, deps);
    case 'discover':
      return discover(e.request, deps);
    case 'inspect':
      return inspectStep(e.state, deps);
    case 'delete':
      return deleteStep(e.state, e.taskToken, deps);
    case 'await':
      return awaitStep(e.state, e.taskToken, deps);
    case 'conclude':
      return concludeStep(e.state, deps);
    case 'diagnose':
      return diagnoseStep(e.state, deps);
    case 'remediate':
      return remediateStep(e.state, deps);
    case 'record':
      return recordStep(e.state, deps);
    case 'finish':
      return finish({ request: e.request, results: e.results ?? [], execution: e.execution }, deps.finish);
  }
};
