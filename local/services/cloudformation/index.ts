import type { QueryService } from '../types.ts';
import { StackEngine } from './engine.ts';
import { makeOperations } from './operations.ts';

export type CloudFormationOptions = {
  /** Time between lifecycle steps; default env STAGECREW_CFN_DELAY_MS, else 1500 ms. */
  delayMs?: number;
  now?: () => number;
};

const envDelay = (): number => {
  const raw = process.env.STAGECREW_CFN_DELAY_MS;
  if (raw === undefined || raw === '') return 1500;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`STAGECREW_CFN_DELAY_MS must be a non-negative number of milliseconds, got ${raw}`);
  return n;
};

/** Local CloudFormation (awsQuery): stacks with realistic, timed status transitions that survive restarts. */
export const createCloudFormationService = (options: CloudFormationOptions = {}): QueryService => {
  const fixed = options.delayMs;
  if (fixed === undefined) envDelay(); // fail fast on a malformed setting
  const engine = new StackEngine({
    delayMs: fixed === undefined ? envDelay : () => fixed,
    now: options.now ?? Date.now,
  });
  return {
    protocol: 'query',
    id: 'cloudformation',
    signingName: 'cloudformation',
    xmlns: 'http://cloudformation.amazonaws.com/doc/2010-05-15/',
    operations: makeOperations(engine),
    start: (ctx) => engine.resume(ctx),
    stop: () => engine.stop(),
  };
};

export const service = createCloudFormationService();
/** A fresh instance for another account and region (local/runtime/partitions.ts). */
export const createService = () => createCloudFormationService();
