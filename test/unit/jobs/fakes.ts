/**
 * In-memory fakes for the job runner's ports, shared by the jobs tests and bench/invoke-action.ts.
 * Time is virtual: `sleep` advances the clock instead of waiting.
 */
import { IdempotencyItemAlreadyExistsError, IdempotencyItemNotFoundError } from '@aws-lambda-powertools/idempotency';
import { BasePersistenceLayer, type IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import type { JobHandlerDeps } from '../../../functions/core/jobs/job-handler.ts';
import type {
  ArtifactReader,
  ArtifactSource,
  HttpFetch,
  JobReport,
  JobReporter,
  ReportOutcome,
  StackInfo,
  StackPort,
  TeardownRegistration,
  TeardownRegistry,
} from '../../../functions/core/jobs/ports.ts';
import { TASKS } from '../../../functions/core/jobs/registry.ts';
import type { Job } from '../../../functions/core/jobs/schema.ts';

export const T0 = Date.parse('2026-11-23T10:00:00.000Z');

export class FakeClock {
  t: number;
  readonly sleeps: number[] = [];
  constructor(t = T0) {
    this.t = t;
  }
  now = () => new Date(this.t);
  sleep = async (ms: number) => {
    this.sleeps.push(ms);
    this.t += ms;
  };
  advance(ms: number) {
    this.t += ms;
  }
}

/** Records reports; a second report for the same job id answers like CodePipeline (InvalidJobStateException). */
export class FakeReporter implements JobReporter {
  readonly reports: JobReport[] = [];
  readonly calls: JobReport[] = [];
  readonly #reported = new Set<string>();
  failNext: Error | undefined;
  /** As if an earlier invocation had already ended the job. */
  markReported(jobId: string) {
    this.#reported.add(jobId);
  }
  async report(report: JobReport): Promise<ReportOutcome> {
    this.calls.push(report);
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    if (this.#reported.has(report.jobId)) return 'already-reported';
    this.#reported.add(report.jobId);
    this.reports.push(report);
    return 'reported';
  }
}

/** A stack whose status moves along a script, one step per describe call. */
export class FakeStacks implements StackPort {
  readonly stacks = new Map<string, StackInfo>();
  /** Statuses to show on the next describe calls of a stack name (first one consumed first). */
  readonly script = new Map<string, string[]>();
  readonly describes: string[] = [];
  readonly updates: Array<{ stackId: string; tags: Record<string, string> }> = [];
  /** What the next updateTags does. */
  onUpdate: 'updating' | 'unchanged' | Error = 'updating';

  put(stack: Partial<StackInfo> & { stackName: string }): StackInfo {
    const full: StackInfo = {
      stackId: `arn:aws:cloudformation:us-east-1:111111111111:stack/${stack.stackName}/0000`,
      status: 'CREATE_COMPLETE',
      outputs: {},
      tags: {},
      parameterKeys: [],
      capabilities: [],
      ...stack,
    };
    this.stacks.set(full.stackName, full);
    return full;
  }

  async describe(nameOrId: string): Promise<StackInfo | undefined> {
    this.describes.push(nameOrId);
    const stack = [...this.stacks.values()].find((s) => s.stackName === nameOrId || s.stackId === nameOrId);
    if (!stack) return undefined;
    const next = this.script.get(stack.stackName)?.shift();
    if (next) stack.status = next;
    return structuredClone(stack);
  }

  async updateTags(stack: StackInfo, tags: Record<string, string>): Promise<'updating' | 'unchanged'> {
    if (this.onUpdate instanceof Error) throw this.onUpdate;
    this.updates.push({ stackId: stack.stackId, tags });
    if (this.onUpdate === 'updating') {
      const s = this.stacks.get(stack.stackName);
      if (s) {
        s.status = 'UPDATE_IN_PROGRESS';
        s.tags = { ...s.tags, ...tags };
        this.script.set(s.stackName, ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_COMPLETE']);
      }
    }
    return this.onUpdate;
  }
}

export class FakeTeardown implements TeardownRegistry {
  readonly registrations: TeardownRegistration[] = [];
  async register(r: TeardownRegistration) {
    this.registrations.push(r);
  }
}

export class FakeArtifacts implements ArtifactSource {
  readonly files = new Map<string, string>();
  readonly reads: string[] = [];
  open(_job: Job): ArtifactReader {
    return {
      readText: async (artifact, path) => {
        const key = `${artifact ?? '*'}:${path}`;
        this.reads.push(key);
        const text = this.files.get(key);
        if (text === undefined) throw new Error(`no file ${key}`);
        return text;
      },
    };
  }
}

/**
 * Scripted HTTP: each URL answers from its queue (the last answer repeats); latency advances the fake clock at
 * once, so with several URLs probed concurrently a URL's measured time also includes those started after it.
 */
export class FakeHttp {
  readonly calls: string[] = [];
  readonly answers = new Map<string, Array<{ status: number; body?: string; ms?: number } | Error>>();
  readonly clock: FakeClock;
  constructor(clock: FakeClock) {
    this.clock = clock;
  }
  fetch: HttpFetch = async (url) => {
    this.calls.push(url);
    const queue = this.answers.get(url) ?? [{ status: 404 }];
    const answer = queue.length > 1 ? queue.shift() : queue[0];
    if (answer === undefined) throw new Error('no answer');
    if (answer instanceof Error) throw answer;
    this.clock.advance(answer.ms ?? 20);
    const noBody = answer.status === 204 || answer.status === 205 || answer.status === 304;
    return new Response(noBody ? null : (answer.body ?? ''), { status: answer.status });
  };
}

/** Powertools idempotency persistence in a Map (same conditional semantics as the DynamoDB layer). */
export class MemoryPersistenceLayer extends BasePersistenceLayer {
  readonly records = new Map<string, IdempotencyRecord>();
  protected async _getRecord(key: string): Promise<IdempotencyRecord> {
    const r = this.records.get(key);
    if (!r) throw new IdempotencyItemNotFoundError();
    return r;
  }
  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    const existing = this.records.get(record.idempotencyKey);
    const inProgressExpired =
      existing?.getStatus() === 'INPROGRESS' &&
      existing.inProgressExpiryTimestamp !== undefined &&
      existing.inProgressExpiryTimestamp < Date.now();
    if (existing && !existing.isExpired() && !inProgressExpired) {
      throw new IdempotencyItemAlreadyExistsError('exists', existing);
    }
    this.records.set(record.idempotencyKey, record);
  }
  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    this.records.set(record.idempotencyKey, record);
  }
  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.records.delete(record.idempotencyKey);
  }
}

export const silentLog = {
  lines: [] as Array<{ level: string; message: string; data: Record<string, unknown> }>,
  info(message: string, data: Record<string, unknown>) {
    this.lines.push({ level: 'info', message, data });
  },
  warn(message: string, data: Record<string, unknown>) {
    this.lines.push({ level: 'warn', message, data });
  },
  error(message: string, data: Record<string, unknown>) {
    this.lines.push({ level: 'error', message, data });
  },
  appendKeys(_keys: Record<string, unknown>) {},
};

export type World = {
  clock: FakeClock;
  reporter: FakeReporter;
  stacks: FakeStacks;
  teardown: FakeTeardown;
  artifacts: FakeArtifacts;
  http: FakeHttp;
  deps: JobHandlerDeps;
};

export const world = (overrides: Partial<JobHandlerDeps> = {}): World => {
  const clock = new FakeClock();
  const reporter = new FakeReporter();
  const stacks = new FakeStacks();
  const teardown = new FakeTeardown();
  const artifacts = new FakeArtifacts();
  const http = new FakeHttp(clock);
  const log = { ...silentLog, lines: [] as typeof silentLog.lines };
  return {
    clock,
    reporter,
    stacks,
    teardown,
    artifacts,
    http,
    deps: {
      tasks: TASKS,
      clock,
      sleep: clock.sleep,
      fetch: http.fetch,
      reporter,
      stacks,
      teardown,
      artifacts,
      log,
      ...overrides,
    },
  };
};

let seq = 0;
/** A job id in CodePipeline's format, unique per call. */
export const newJobId = () => `11111111-abcd-1111-abcd-${String(++seq).padStart(12, '0')}`;

export const makeJob = (userParameters: unknown, extra: Partial<Job> = {}): Job => ({
  id: newJobId(),
  accountId: '111111111111',
  userParameters: typeof userParameters === 'string' ? userParameters : JSON.stringify(userParameters),
  inputArtifacts: [],
  ...extra,
});

/** The `CodePipeline.job` event for UserParameters (and optional data fields). */
export const jobEvent = (userParameters: unknown, data: Record<string, unknown> = {}, id = newJobId()) => ({
  'CodePipeline.job': {
    id,
    accountId: '111111111111',
    data: {
      actionConfiguration: {
        configuration: {
          FunctionName: 'stagecrew-invoke-action',
          ...(userParameters === undefined
            ? {}
            : { UserParameters: typeof userParameters === 'string' ? userParameters : JSON.stringify(userParameters) }),
        },
      },
      inputArtifacts: [],
      outputArtifacts: [],
      artifactCredentials: {
        accessKeyId: 'ASIAFAKEACCESSKEY000',
        secretAccessKey: 'fake-secret-access-key-do-not-log',
        sessionToken: 'fake-session-token-do-not-log',
        expirationTime: T0 + 3_600_000,
      },
      ...data,
    },
  },
});

export const lambdaContext = (remainingMs = 110_000) => ({ getRemainingTimeInMillis: () => remainingMs });
