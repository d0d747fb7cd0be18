import type { StateInfo } from './definition.ts';
import { parseResource } from './tasks.ts';

/**
 * Builds an execution history with AWS's event types, ids and details from the event log of
 * `aws-local-stepfunctions` (StateEntered, StateExited, …), adding the Task/Lambda lifecycle events
 * (TaskScheduled, TaskStarted, TaskSucceeded, …) AWS records around each task, and counting state transitions.
 */
export type HistoryEvent = { id: number; previousEventId: number; timestamp: number; type: string } & Record<
  string,
  unknown
>;

/** An `aws-local-stepfunctions` event log entry (the package does not export the type). */
export type LogEvent = {
  type: string;
  state?: { name: string; type: string; input: unknown; output?: unknown };
  parentState?: { name: string };
  index?: number;
  Error?: string;
  Cause?: unknown;
  output?: unknown;
};

/** History's resourceType/resource split: `aws-sdk:cloudformation` + `deleteStack`, `lambda` + `invoke`. */
export const taskResource = (resource: string): [string, string] => {
  const rest = resource.replace(/^arn:aws[a-z-]*:states:::/, '');
  const at = rest.lastIndexOf(':');
  return [rest.slice(0, at), rest.slice(at + 1)];
};

const text = (v: unknown) => JSON.stringify(v ?? null);
const causeText = (cause: unknown) =>
  cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : JSON.stringify(cause ?? '');

export class ExecutionHistory {
  readonly events: HistoryEvent[] = [];
  transitions = 0;
  readonly #now: () => number;
  /**
   * Effective parameters and raw results of top-level tasks, queued per state name by the task handlers. The
   * handler runs in the same tick as the library's StateEntered, so the queues line up with the event log.
   */
  readonly #params = new Map<string, unknown[]>();
  readonly #results = new Map<string, unknown[]>();

  constructor(now: () => number) {
    this.#now = now;
  }

  queueParams(name: string, value: unknown): void {
    this.#queue(this.#params, name).push(value);
  }
  queueResult(name: string, value: unknown): void {
    this.#queue(this.#results, name).push(value);
  }
  #queue(map: Map<string, unknown[]>, name: string): unknown[] {
    const q = map.get(name) ?? [];
    map.set(name, q);
    return q;
  }
  #take(
    map: Map<string, unknown[]>,
    name: string | undefined,
    nested: boolean | undefined,
    fallback: unknown,
  ): unknown {
    const q = nested || name === undefined ? undefined : map.get(name);
    return q && q.length > 0 ? q.shift() : fallback;
  }

  add(type: string, details?: Record<string, unknown>): void {
    const last = this.events.at(-1);
    // *StateEntered / *StateExited share one details field name across state types, as in AWS.
    const base = type.endsWith('StateEntered') ? 'StateEntered' : type.endsWith('StateExited') ? 'StateExited' : type;
    const key = `${base.charAt(0).toLowerCase()}${base.slice(1)}EventDetails`;
    this.events.push({
      timestamp: this.#now(),
      type,
      id: (last?.id ?? 0) + 1,
      previousEventId: last?.id ?? 0,
      ...(details ? { [key]: details } : {}),
    });
  }

  record(
    ev: LogEvent,
    states: Map<string, StateInfo>,
    execution: { input: string; roleArn: string },
    region: string,
  ): void {
    const name = ev.state?.name;
    const info = name ? states.get(name) : undefined;
    const type = info?.type ?? ev.state?.type ?? '';
    const resource = info?.resource ? parseResource(info.resource) : undefined;
    const task = type === 'Task' && resource !== undefined;
    const lambda = resource?.kind === 'lambda';
    const [resourceType, action] = resource ? taskResource(resource.resource) : ['', ''];
    const scheduled = () => {
      if (!task || !resource) return;
      const params = text(this.#take(this.#params, name, info?.nested, ev.state?.input));
      if (lambda) {
        this.add('LambdaFunctionScheduled', { resource: resource.resource, input: params });
        this.add('LambdaFunctionStarted');
      } else {
        this.add('TaskScheduled', { resourceType, resource: action, region, parameters: params });
        this.add('TaskStarted', { resourceType, resource: action });
      }
    };
    switch (ev.type) {
      case 'ExecutionStarted':
        this.add('ExecutionStarted', {
          input: execution.input,
          inputDetails: { truncated: false },
          roleArn: execution.roleArn,
        });
        break;
      case 'StateEntered':
        this.transitions += 1;
        this.add(`${type}StateEntered`, { name, input: text(ev.state?.input), inputDetails: { truncated: false } });
        scheduled();
        break;
      case 'StateRetried':
        scheduled();
        break;
      case 'StateExited':
        if (task) {
          const raw = text(this.#take(this.#results, name, info?.nested, ev.state?.output));
          if (lambda) this.add('LambdaFunctionSucceeded', { output: raw });
          else this.add('TaskSucceeded', { resourceType, resource: action, output: raw });
        }
        this.add(`${type}StateExited`, { name, output: text(ev.state?.output), outputDetails: { truncated: false } });
        break;
      case 'StateFailed':
        if (task) {
          const timedOut = ev.Error === 'States.Timeout';
          const details = { error: ev.Error, cause: causeText(ev.Cause) };
          if (lambda) this.add(timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed', details);
          else this.add(timedOut ? 'TaskTimedOut' : 'TaskFailed', { resourceType, resource: action, ...details });
        }
        break;
      case 'StateCaught':
        this.add(`${type}StateExited`, { name, output: text(ev.state?.input) });
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        this.add(ev.type, { name: ev.parentState?.name, index: ev.index });
        break;
      case 'ExecutionSucceeded':
        this.add('ExecutionSucceeded', { output: text(ev.output), outputDetails: { truncated: false } });
        break;
      case 'ExecutionFailed':
        this.add('ExecutionFailed', {
          error: ev.Cause instanceof Error ? ev.Cause.name : ev.Error,
          cause: causeText(ev.Cause),
        });
        break;
      case 'ExecutionTimeout':
        this.add('ExecutionTimedOut', { error: 'States.Timeout' });
        break;
      default:
        break;
    }
  }
}
