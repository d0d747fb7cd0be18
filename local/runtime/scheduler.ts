import type { Logger } from '../services/types.ts';
import type { StateStore } from '../store/store.ts';
import type { ScheduleSpec } from './wiring.ts';

/**
 * Runs the template's Schedule/ScheduleV2 events on their rate. The last run of each schedule is persisted, so a
 * restart keeps the cadence and a run missed while stopped happens once at start (not once per missed period).
 * `cron(...)` expressions are listed but only run on demand (`POST /_local/schedules/{name}`).
 */
export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

const UNITS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** `rate(5 minutes)` → 300000; undefined for cron/at expressions. Malformed rates throw. */
export const rateMs = (expression: string): number | undefined => {
  const m = /^rate\((\d+)\s+(\w+)\)$/.exec(expression.trim());
  if (!m) {
    if (/^(cron|at)\(.+\)$/.test(expression.trim())) return undefined;
    throw new ScheduleError(`unsupported schedule expression "${expression}"`);
  }
  const n = Number(m[1]);
  const unit = UNITS[m[2] as string];
  if (!unit || n < 1 || (n === 1) !== !(m[2] as string).endsWith('s')) {
    throw new ScheduleError(`malformed rate expression "${expression}"`);
  }
  return n * unit;
};

const NS = 'scheduler:last-run';

export type SchedulerOptions = {
  store: StateStore;
  log: Logger;
  schedules: ScheduleSpec[];
  invoke: (functionName: string, payload: unknown) => Promise<void>;
  region: string;
  accountId: string;
  now?: () => number;
};

export class Scheduler {
  readonly #o: Required<SchedulerOptions>;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#o = { now: Date.now, ...options };
  }

  list(): Array<ScheduleSpec & { lastRunAt?: string; nextRunAt?: string }> {
    return this.#o.schedules.map((s) => {
      const last = this.#o.store.get<number>(NS, s.name);
      const rate = rateMs(s.expression);
      return {
        ...s,
        ...(last ? { lastRunAt: new Date(last).toISOString() } : {}),
        ...(last && rate && s.enabled ? { nextRunAt: new Date(last + rate).toISOString() } : {}),
      };
    });
  }

  start(): void {
    const now = this.#o.now();
    for (const s of this.#o.schedules) {
      const rate = rateMs(s.expression);
      if (rate === undefined || !s.enabled) continue;
      let last = this.#o.store.get<number>(NS, s.name);
      if (last === undefined) {
        last = now; // a new schedule first fires one period after it is created, as on AWS
        this.#o.store.put(NS, s.name, last);
      }
      this.#arm(s, Math.max(0, last + rate - now));
    }
  }

  #arm(s: ScheduleSpec, delay: number): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.runNow(s.name)
        .catch((err: unknown) => {
          this.#o.log.error('schedule could not run', { schedule: s.name, error: (err as Error).message });
        })
        .finally(() => this.#arm(s, rateMs(s.expression) ?? 0));
    }, delay);
    timer.unref();
    this.#timers.set(s.name, timer);
  }

  /** Runs a schedule now (async invocation); throws ScheduleError for an unknown name. */
  async runNow(name: string): Promise<{ name: string; functionName: string }> {
    const s = this.#o.schedules.find((x) => x.name === name);
    if (!s) throw new ScheduleError(`no schedule named ${name}`);
    const now = this.#o.now();
    this.#o.store.put(NS, s.name, now);
    await this.#o.invoke(s.functionName, this.#payload(s, now));
    this.#o.log.info('schedule fired', { schedule: s.name });
    return { name: s.name, functionName: s.functionName };
  }

  #payload(s: ScheduleSpec, now: number): unknown {
    if (s.input !== undefined) return JSON.parse(s.input);
    if (s.kind === 'ScheduleV2') return {};
    return {
      version: '0',
      id: crypto.randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: this.#o.accountId,
      time: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.#o.region,
      resources: [`arn:aws:events:${this.#o.region}:${this.#o.accountId}:rule/${s.name}`],
      detail: {},
    };
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }
}
