import type { JsonService } from '../types.ts';
import { SfnEngine } from './engine.ts';
import { makeOperations } from './operations.ts';

export type StepFunctionsOptions = {
  /** Multiplier for Wait states (1 = real time, 0 = no waiting); default env STAGECREW_SFN_WAIT_SCALE, else 1. */
  waitScale?: number;
  now?: () => number;
};

const envWaitScale = (): number => {
  const raw = process.env.STAGECREW_SFN_WAIT_SCALE;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`STAGECREW_SFN_WAIT_SCALE must be a non-negative number, got ${raw}`);
  return n;
};

/** Local Step Functions (awsJson 1.0): state machines run with aws-local-stepfunctions against the local cloud. */
export const createStepFunctionsService = (options: StepFunctionsOptions = {}): JsonService & { engine: SfnEngine } => {
  const fixed = options.waitScale;
  if (fixed === undefined) envWaitScale(); // fail fast on a malformed setting
  const engine = new SfnEngine({
    waitScale: fixed === undefined ? envWaitScale : () => fixed,
    now: options.now ?? Date.now,
  });
  return {
    protocol: 'json',
    id: 'sfn',
    targetPrefix: 'AWSStepFunctions',
    signingName: 'states',
    jsonVersion: '1.0',
    operations: makeOperations(engine),
    start: (ctx) => engine.resume(ctx),
    stop: () => engine.stop(),
    engine,
  };
};

export const service = createStepFunctionsService();
/** A fresh instance for another account and region (local/runtime/partitions.ts). */
export const createService = () => createStepFunctionsService();
