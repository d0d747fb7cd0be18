/**
 * Counts what a local run would be billed for on AWS: API calls by service and operation (through the endpoint
 * and in-process, e.g. Step Functions `aws-sdk:` tasks), Lambda invocations with their duration and memory, and
 * HTTP API requests. `GET /_local/meter` reads it, `DELETE /_local/meter` starts a new window. In memory only:
 * a restart starts a new window (the counts describe one run, not the state).
 */
export type CallOrigin = 'http' | 'in-process';

export type FunctionUsage = {
  invocations: number;
  errors: number;
  durationMs: number;
  /** Lambda bills each invocation rounded up to the millisecond. */
  billedMs: number;
  memoryMb: number;
};

export type MeterSnapshot = {
  since: string;
  /** `service:Operation` → count, e.g. `codepipeline:PutApprovalResult`. */
  calls: Record<string, number>;
  /** The same calls by origin: requests through the endpoint (`http`) or made in-process by a service. */
  callsByOrigin: Record<CallOrigin, Record<string, number>>;
  functions: Record<string, FunctionUsage>;
  httpApiRequests: number;
};

export class Meter {
  #since = new Date();
  #calls = new Map<string, number>();
  #byOrigin: Record<CallOrigin, Map<string, number>> = { http: new Map(), 'in-process': new Map() };
  #functions = new Map<string, FunctionUsage>();
  #httpApi = 0;

  call(service: string, operation: string, origin: CallOrigin = 'http'): void {
    const key = `${service.toLowerCase()}:${operation}`;
    this.#calls.set(key, (this.#calls.get(key) ?? 0) + 1);
    const m = this.#byOrigin[origin];
    m.set(key, (m.get(key) ?? 0) + 1);
  }

  invocation(functionName: string, durationMs: number, memoryMb: number, ok: boolean): void {
    const u = this.#functions.get(functionName) ?? { invocations: 0, errors: 0, durationMs: 0, billedMs: 0, memoryMb };
    u.invocations += 1;
    if (!ok) u.errors += 1;
    u.durationMs += durationMs;
    u.billedMs += Math.max(1, Math.ceil(durationMs));
    u.memoryMb = memoryMb;
    this.#functions.set(functionName, u);
  }

  httpApiRequest(): void {
    this.#httpApi += 1;
  }

  count(service: string, operation: string): number {
    return this.#calls.get(`${service.toLowerCase()}:${operation}`) ?? 0;
  }

  snapshot(): MeterSnapshot {
    return {
      since: this.#since.toISOString(),
      calls: Object.fromEntries([...this.#calls].sort(([a], [b]) => a.localeCompare(b))),
      callsByOrigin: {
        http: Object.fromEntries(this.#byOrigin.http),
        'in-process': Object.fromEntries(this.#byOrigin['in-process']),
      },
      functions: Object.fromEntries([...this.#functions].map(([k, v]) => [k, { ...v }])),
      httpApiRequests: this.#httpApi,
    };
  }

  reset(): void {
    this.#since = new Date();
    this.#calls.clear();
    this.#byOrigin.http.clear();
    this.#byOrigin['in-process'].clear();
    this.#functions.clear();
    this.#httpApi = 0;
  }
}
