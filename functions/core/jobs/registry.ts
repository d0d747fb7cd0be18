import type { Task } from './task.ts';
import { gate } from './tasks/gate.ts';
import { httpCheck } from './tasks/http-check.ts';
import { registerTestStack } from './tasks/register-test-stack.ts';
import { stackOutputs } from './tasks/stack-outputs.ts';
import { waitStack } from './tasks/wait-stack.ts';

/**
 * The built-in tasks, by the name UserParameters use (`{"task":"<name>"}`). Adding a task is one file in
 * ./tasks and one entry here.
 */
export const TASKS: Readonly<Record<string, Task>> = Object.freeze({
  [httpCheck.name]: httpCheck,
  [stackOutputs.name]: stackOutputs,
  [registerTestStack.name]: registerTestStack,
  [gate.name]: gate,
  [waitStack.name]: waitStack,
});
