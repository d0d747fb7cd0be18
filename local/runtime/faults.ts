import { randomUUID } from 'node:crypto';
import { AwsError } from '../services/types.ts';

/**
 * Fault injection for the local cloud's AWS endpoint (`/_local/faults`), so tests can prove retries, timeouts and
 * idempotency against real SDK clients:
 * - `throttle`: the protocol's throttling error (awsJson `ThrottlingException` 400, awsQuery `Throttling` 400,
 *   S3 `SlowDown` 503, REST-JSON `TooManyRequestsException` 429); the request is not processed.
 * - `error`: a 500 `InternalFailure` (503 `ServiceUnavailable` with `status: 503`); not processed.
 * - `timeout`: holds the request for `delayMs` (default 30 s) and then drops the connection; not processed.
 *   The client's own request timeout fires first.
 * - `drop`: closes the connection without an answer; not processed.
 * - `drop-after`: processes the request, then closes the connection instead of answering: the write happened but
 *   the caller cannot know, the case idempotency exists for.
 * A rule matches a service id (`codepipeline`, `dynamodb`, `cloudformation`, `lambda`, `s3`, …) and optionally an
 * operation (`PutApprovalResult`; for REST services `METHOD /path-prefix`), fires on the next `times` matches
 * (default 1; `-1` = until cleared) after skipping `skip` matches, each with `probability` (default 1).
 */
export type FaultKind = 'throttle' | 'error' | 'timeout' | 'drop' | 'drop-after';

export type FaultRuleInput = {
  service: string;
  operation?: string;
  fault: FaultKind;
  times?: number;
  skip?: number;
  probability?: number;
  delayMs?: number;
  status?: number;
};

export type FaultRule = Required<Omit<FaultRuleInput, 'operation' | 'status'>> &
  Pick<FaultRuleInput, 'operation' | 'status'> & { id: string; seen: number; fired: number };

export type FaultDecision = { rule: FaultRule };

const KINDS: readonly FaultKind[] = ['throttle', 'error', 'timeout', 'drop', 'drop-after'];

export class FaultError extends Error {}

export const parseFaultRule = (input: unknown): FaultRuleInput => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultError('a fault rule is a JSON object');
  }
  const r = input as Record<string, unknown>;
  if (typeof r.service !== 'string' || r.service === '') throw new FaultError('"service" is required');
  if (!KINDS.includes(r.fault as FaultKind)) throw new FaultError(`"fault" must be one of ${KINDS.join(', ')}`);
  const num = (name: string, min: number, max: number): number | undefined => {
    const v = r[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      throw new FaultError(`"${name}" must be a number from ${min} to ${max}`);
    }
    return v;
  };
  if (r.operation !== undefined && typeof r.operation !== 'string') throw new FaultError('"operation" is a string');
  const out: FaultRuleInput = { service: r.service.toLowerCase(), fault: r.fault as FaultKind };
  if (typeof r.operation === 'string') out.operation = r.operation;
  const times = num('times', -1, 1_000_000);
  if (times !== undefined) out.times = Math.trunc(times);
  const skip = num('skip', 0, 1_000_000);
  if (skip !== undefined) out.skip = Math.trunc(skip);
  const probability = num('probability', 0, 1);
  if (probability !== undefined) out.probability = probability;
  const delayMs = num('delayMs', 0, 600_000);
  if (delayMs !== undefined) out.delayMs = delayMs;
  const status = num('status', 400, 599);
  if (status !== undefined) out.status = Math.trunc(status);
  return out;
};

export class Faults {
  readonly #rules: FaultRule[] = [];
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  add(input: FaultRuleInput): FaultRule {
    const rule: FaultRule = {
      id: randomUUID(),
      service: input.service.toLowerCase(),
      fault: input.fault,
      times: input.times ?? 1,
      skip: input.skip ?? 0,
      probability: input.probability ?? 1,
      delayMs: input.delayMs ?? 30_000,
      seen: 0,
      fired: 0,
      ...(input.operation !== undefined ? { operation: input.operation } : {}),
      ...(input.status !== undefined ? { status: input.status } : {}),
    };
    this.#rules.push(rule);
    return rule;
  }

  list(): FaultRule[] {
    return this.#rules.map((r) => ({ ...r }));
  }

  clear(): void {
    this.#rules.length = 0;
  }

  get active(): boolean {
    return this.#rules.length > 0;
  }

  /** The fault for this request, if a rule fires; counts the match either way. */
  match(service: string, operation: string): FaultDecision | undefined {
    const svc = service.toLowerCase();
    for (const rule of this.#rules) {
      if (rule.service !== svc) continue;
      if (rule.operation !== undefined && !operationMatches(rule.operation, operation)) continue;
      if (rule.times !== -1 && rule.fired >= rule.times) continue;
      rule.seen += 1;
      if (rule.seen <= rule.skip) continue;
      if (rule.probability < 1 && this.#random() >= rule.probability) continue;
      rule.fired += 1;
      return { rule };
    }
    return undefined;
  }
}

/** `PutApprovalResult` matches exactly; a REST rule `POST /v2/email` matches that method and path prefix. */
const operationMatches = (pattern: string, operation: string): boolean =>
  pattern.includes(' ') ? operation.startsWith(pattern) : pattern === operation;

/** The error a fault answers with, for faults that answer (`throttle`, `error`). */
export const faultError = (rule: FaultRule, protocol: 'json' | 'query' | 'rest-json' | 'rest-xml'): AwsError => {
  if (rule.fault === 'throttle') {
    if (protocol === 'rest-xml') return new AwsError('SlowDown', 'Please reduce your request rate. (injected)', 503);
    if (protocol === 'rest-json') return new AwsError('TooManyRequestsException', 'Rate exceeded (injected)', 429);
    if (protocol === 'query') return new AwsError('Throttling', 'Rate exceeded (injected)', 400);
    return new AwsError('ThrottlingException', 'Rate exceeded (injected)', 400);
  }
  if (rule.status === 503) return new AwsError('ServiceUnavailable', 'Service unavailable (injected)', 503);
  return new AwsError('InternalFailure', 'The request processing has failed (injected)', rule.status ?? 500);
};
