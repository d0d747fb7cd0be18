import { StateMachine } from 'aws-local-stepfunctions';
import { AwsError } from '../types.ts';
import { INTERNAL_WAIT } from './tasks.ts';

/**
 * Checks a definition the way CreateStateMachine does, and prepares it for `aws-local-stepfunctions`:
 * - every Task gets an explicit TimeoutSeconds (the library defaults to 60 s; AWS has no default timeout);
 * - `$$.Task.Token` in `.waitForTaskToken` Parameters becomes a placeholder the task handler fills with a
 *   fresh token (the library has no Task context object);
 * - with a Wait scale other than 0 or 1, Wait states become internal Tasks that sleep the scaled time;
 * - `TimeoutSecondsPath` / `HeartbeatSecondsPath` are taken out of the library's hands: AWS resolves them against
 *   the state input, the library against the input after Parameters. The paths are evaluated alongside the
 *   Parameters instead (same input), and the task handler unwraps them and enforces the limits itself.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type States = Record<string, Record<string, Json>>;
type Machine = { StartAt: string; States: States; TimeoutSeconds?: number; [k: string]: Json | undefined };

export const TOKEN_PLACEHOLDER = '__STAGECREW_TASK_TOKEN__';
/** Keys of the wrapper that carries a Task's Parameters and its dynamic limits to the task handler. */
export const LIMITS_WRAPPER = {
  params: '__stagecrew_parameters',
  timeout: '__stagecrew_timeout_seconds',
  heartbeat: '__stagecrew_heartbeat_seconds',
} as const;
/** Close to the largest delay Node's setTimeout accepts (2^31-1 ms): "no timeout" for practical purposes. */
const NO_TIMEOUT_SECONDS = 2_000_000;

export type StateInfo = {
  type: string;
  resource?: string;
  /** Inside a Map or Parallel: concurrent runs share the name. */
  nested: boolean;
  heartbeatSeconds?: number;
  timeoutSeconds?: number;
  /** The Task's input arrives wrapped in LIMITS_WRAPPER (it has a TimeoutSecondsPath or HeartbeatSecondsPath). */
  dynamicLimits?: boolean;
  wait?: { Seconds?: number; SecondsPath?: string; Timestamp?: string; TimestampPath?: string };
};

export const invalidDefinition = (message: string) =>
  new AwsError('InvalidDefinition', `Invalid State Machine Definition: '${message}'`);

const validated = new Set<string>();

export const parseDefinition = (text: unknown): Machine => {
  if (typeof text !== 'string' || text.trim() === '')
    throw invalidDefinition('SCHEMA_VALIDATION_FAILED: definition is required');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalidDefinition(`INVALID_JSON_DESCRIPTION: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw invalidDefinition('SCHEMA_VALIDATION_FAILED: definition must be an object');
  const machine = parsed as Machine;
  if ((machine as { QueryLanguage?: string }).QueryLanguage === 'JSONata') {
    throw invalidDefinition(
      'SCHEMA_VALIDATION_FAILED: JSONata is not supported by the local Step Functions; write the definition in JSONPath',
    );
  }
  if (validated.has(text)) return machine;
  try {
    new StateMachine(machine as never, { validationOptions: { checkArn: true, checkPaths: true } });
    // asl-validator compiles its schemas on every call (~100 ms); the local cloud re-creates the same
    // machines on every start, so remember definitions that already passed.
    if (validated.size >= 256) validated.clear();
    validated.add(text);
  } catch (err) {
    const message = (err as Error).message
      .replace(/^State machine definition is invalid, see error\(s\) below:\s*/, '')
      .trim();
    throw invalidDefinition(message.replace(/\n/g, '; '));
  }
  return machine;
};

const forEachMachine = (machine: Machine, nested: boolean, fn: (states: States, nested: boolean) => void): void => {
  fn(machine.States, nested);
  for (const state of Object.values(machine.States)) {
    const processor = (state.ItemProcessor ?? state.Iterator) as Machine | undefined;
    if (processor && typeof processor === 'object') forEachMachine(processor, true, fn);
    if (Array.isArray(state.Branches))
      for (const b of state.Branches as unknown as Machine[]) forEachMachine(b, true, fn);
  }
};

const replaceTokenPaths = (value: Json): Json => {
  if (Array.isArray(value)) return value.map(replaceTokenPaths);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.endsWith('.$') && v === '$$.Task.Token') out[k.slice(0, -2)] = TOKEN_PLACEHOLDER;
    else if (k.endsWith('.$') && typeof v === 'string' && v.includes('$$.Task.Token')) {
      out[k] = v.replaceAll('$$.Task.Token', `'${TOKEN_PLACEHOLDER}'`);
    } else out[k] = replaceTokenPaths(v);
  }
  return out;
};

export type Prepared = { definition: Machine; states: Map<string, StateInfo>; waitOverrides: Record<string, number> };

export const prepare = (text: string, waitScale: number): Prepared => {
  const definition = JSON.parse(text) as Machine;
  const states = new Map<string, StateInfo>();
  const waitOverrides: Record<string, number> = {};
  forEachMachine(definition, false, (all, nested) => {
    for (const [name, state] of Object.entries(all)) {
      const info: StateInfo = { type: String(state.Type), nested };
      if (state.Type === 'Task') {
        info.resource = String(state.Resource);
        if (typeof state.HeartbeatSeconds === 'number') info.heartbeatSeconds = state.HeartbeatSeconds;
        if (typeof state.TimeoutSeconds === 'number') info.timeoutSeconds = state.TimeoutSeconds;
        if (info.resource.endsWith('.waitForTaskToken') && state.Parameters !== undefined) {
          state.Parameters = replaceTokenPaths(state.Parameters);
        }
        if (typeof state.TimeoutSecondsPath === 'string' || typeof state.HeartbeatSecondsPath === 'string') {
          info.dynamicLimits = true;
          const { TimeoutSecondsPath: timeoutPath, HeartbeatSecondsPath: heartbeatPath } = state;
          delete state.TimeoutSecondsPath;
          delete state.HeartbeatSecondsPath;
          state.Parameters = {
            ...(state.Parameters === undefined
              ? { [`${LIMITS_WRAPPER.params}.$`]: '$' }
              : { [LIMITS_WRAPPER.params]: state.Parameters }),
            ...(typeof timeoutPath === 'string' ? { [`${LIMITS_WRAPPER.timeout}.$`]: timeoutPath } : {}),
            ...(typeof heartbeatPath === 'string' ? { [`${LIMITS_WRAPPER.heartbeat}.$`]: heartbeatPath } : {}),
          };
        }
        if (state.TimeoutSeconds === undefined) state.TimeoutSeconds = NO_TIMEOUT_SECONDS;
      }
      if (state.Type === 'Wait' && waitScale !== 1) {
        const wait = {
          ...(typeof state.Seconds === 'number' ? { Seconds: state.Seconds } : {}),
          ...(typeof state.SecondsPath === 'string' ? { SecondsPath: state.SecondsPath } : {}),
          ...(typeof state.Timestamp === 'string' ? { Timestamp: state.Timestamp } : {}),
          ...(typeof state.TimestampPath === 'string' ? { TimestampPath: state.TimestampPath } : {}),
        };
        info.wait = wait;
        if (waitScale === 0) waitOverrides[name] = 0;
        else if (wait.Seconds !== undefined) waitOverrides[name] = Math.round(wait.Seconds * 1000 * waitScale);
        else {
          // Dynamic waits need the state input: run them as an internal Task that sleeps the scaled time.
          const { Seconds: _s, SecondsPath: _sp, Timestamp: _t, TimestampPath: _tp, Type: _type, ...rest } = state;
          all[name] = { ...rest, Type: 'Task', Resource: INTERNAL_WAIT, TimeoutSeconds: NO_TIMEOUT_SECONDS };
        }
      }
      states.set(name, info);
    }
  });
  return { definition, states, waitOverrides };
};

/** Evaluates a reference path (`$.a.b[0]`, `$$.Execution.Id`) as Wait's SecondsPath/TimestampPath do. */
export const referencePath = (path: string, input: unknown, context: unknown): unknown => {
  let current: unknown = path.startsWith('$$') ? context : input;
  const rest = path.replace(/^\$\$?/, '');
  for (const m of rest.matchAll(/\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]/g)) {
    const key = m[1] ?? m[3] ?? Number(m[2]);
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key as string];
  }
  return current;
};
