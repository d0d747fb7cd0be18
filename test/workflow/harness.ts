import { readFileSync } from 'node:fs';
import { StateMachine } from 'aws-local-stepfunctions';

type JSONValue = Parameters<StateMachine['run']>[0];

import { UnavailableError, ValidationError } from '#core/errors';
import { accessTo, type Location } from '#core/organization/location';
import { parseSettings, type Settings } from '#core/settings';
import { type DispatchDeps, dispatch, parseTaskEvent } from '#core/teardown/dispatch';

/** What TeardownTaskFunction does with a payload from the state machine: parse it at the boundary, then dispatch. */
export const dispatchRaw = async (raw: unknown, deps: DispatchDeps): Promise<unknown> =>
  dispatch(parseTaskEvent(raw), deps);

import type {
  DeleteRequest,
  DeployedStack,
  Registration,
  RunRecord,
  StackEvent,
  StackOutcomeRecord,
  StackResource,
  TeardownStack,
  TeardownStacks,
  TeardownStore,
  WaitRecord,
} from '#core/teardown/ports';

/**
 * Runs the real statemachines/teardown.asl.json under aws-local-stepfunctions with every Task overridden by the
 * real task dispatcher over in-memory fakes. The `.waitForTaskToken` states are completed the way
 * StackEventsFunction would (the stack's status after the DeleteStack), or time out when events are "lost".
 */
export const PIPELINE = 'app';
export const EXECUTION = '11111111-2222-3333-4444-555555555555';
export const OTHER_EXECUTION = '99999999-2222-3333-4444-555555555555';
export const ownerTags = (executionId = EXECUTION, pipeline = PIPELINE) => ({
  'stagecrew:managed': 'true',
  'stagecrew:pipeline': pipeline,
  'stagecrew:execution-id': executionId,
});
export const stackArn = (name: string, account = '123456789012', region = 'us-east-1') =>
  `arn:aws:cloudformation:${region}:${account}:stack/${name}/0a1b2c3d-0000-1111-2222-333344445555`;

/** A fake stack: its current description and what each DeleteStack attempt leads to. */
export type FakeStack = TeardownStack & {
  /** Status after the n-th DeleteStack (the last entry repeats). */
  afterDelete: Array<{ status: string; reason?: string }>;
  /** Statuses reported by successive describes while mid-operation (consumed first). */
  describeSequence?: string[];
  resources?: StackResource[];
  events?: StackEvent[];
  /** Simulated deletion in progress: the status it reaches at `completeAt` (ms). */
  pending?: { status: string; reason?: string; completeAt: number };
};

export class FakeCloud implements TeardownStacks {
  readonly stacks = new Map<string, FakeStack>();
  readonly deletes: DeleteRequest[] = [];
  readonly calls: string[] = [];
  throttleDescribes = 0;
  /** How long a DeleteStack takes, in simulated seconds (0: settles at once). */
  durationSeconds = 0;
  now: () => number = () => 0;

  /** Applies a simulated deletion that has finished by now. */
  settle(s: FakeStack): void {
    if (s.pending && this.now() >= s.pending.completeAt) {
      s.status = s.pending.status;
      if (s.pending.reason) s.statusReason = s.pending.reason;
      delete s.pending;
    }
  }

  add(s: Partial<FakeStack> & { stackName: string }): FakeStack {
    const stack: FakeStack = {
      stackId: stackArn(s.stackName),
      status: 'CREATE_COMPLETE',
      tags: ownerTags(),
      terminationProtection: false,
      afterDelete: [{ status: 'DELETE_COMPLETE' }],
      ...s,
    };
    this.stacks.set(stack.stackId, stack);
    return stack;
  }

  async describe(id: string): Promise<TeardownStack | undefined> {
    this.calls.push(`describe ${id}`);
    if (this.throttleDescribes > 0) {
      this.throttleDescribes -= 1;
      throw new UnavailableError('DescribeStacks: Throttling');
    }
    const s =
      this.stacks.get(id) ??
      [...this.stacks.values()].find((x) => x.stackName === id && x.status !== 'DELETE_COMPLETE');
    if (!s) return undefined;
    const next = s.describeSequence?.shift();
    if (next) s.status = next;
    this.settle(s);
    const { afterDelete: _a, describeSequence: _d, resources: _r, events: _e, pending: _p, ...view } = s;
    return structuredClone(view);
  }

  async delete(r: DeleteRequest): Promise<void> {
    this.deletes.push(r);
    const s = this.stacks.get(r.stackId);
    if (!s) return; // DeleteStack answers 200 for a stack that does not exist
    if ((r.force || r.retainResources) && s.status !== 'DELETE_FAILED') {
      throw new ValidationError(
        'You can activate DeletionMode FORCE_DELETE_STACK only when the stack is in the DELETE_FAILED state.',
      );
    }
    const n = this.deletes.filter((d) => d.stackId === r.stackId).length;
    const after = s.afterDelete[Math.min(n, s.afterDelete.length) - 1] ?? { status: 'DELETE_COMPLETE' };
    if (this.durationSeconds > 0) {
      s.status = 'DELETE_IN_PROGRESS';
      s.pending = { ...after, completeAt: this.now() + this.durationSeconds * 1000 };
      return;
    }
    s.status = after.status;
    if (after.reason) s.statusReason = after.reason;
    else delete s.statusReason;
  }

  async listResources(id: string): Promise<StackResource[]> {
    return this.stacks.get(id)?.resources ?? [];
  }

  async recentEvents(id: string): Promise<StackEvent[]> {
    return this.stacks.get(id)?.events ?? [];
  }
}

/**
 * The TeardownStore fake, with DynamoTeardownStore's semantics (test/adapters/teardown/teardown-store.contract.test.ts
 * runs both): a wait per stack and token, replaced by a second put and gone once deleted; a run record per run id,
 * replaced by putRun. `runWrites` keeps every run write in order, for the workflow tests' history assertions.
 */
export class MemoryStore implements TeardownStore {
  readonly regs: Array<Registration & { pipeline: string; executionId: string }> = [];
  readonly #waits = new Map<string, WaitRecord>();
  readonly #runs = new Map<string, RunRecord>();
  readonly runWrites: RunRecord[] = [];
  readonly outcomes: StackOutcomeRecord[] = [];
  get waits(): WaitRecord[] {
    return [...this.#waits.values()];
  }
  async registrations(pipeline: string, executionId: string) {
    return this.regs.filter((r) => r.pipeline === pipeline && r.executionId === executionId);
  }
  async putWait(r: WaitRecord) {
    this.#waits.set(`${r.stackId}|${r.clientRequestToken}`, { ...r });
  }
  async waitsFor(stackId: string, crt?: string) {
    return this.waits.filter((w) => w.stackId === stackId && (crt === undefined || w.clientRequestToken === crt));
  }
  async deleteWait(stackId: string, clientRequestToken: string) {
    this.#waits.delete(`${stackId}|${clientRequestToken}`);
  }
  async startRun(r: RunRecord) {
    const first = this.#runs.get(r.runId);
    if (first) return { startedAt: first.startedAt };
    this.#runs.set(r.runId, { ...r });
    this.runWrites.push(r);
    return { startedAt: r.startedAt };
  }
  async putRun(r: RunRecord) {
    this.#runs.set(r.runId, { ...r });
    this.runWrites.push(r);
  }
  async putStackOutcome(r: StackOutcomeRecord) {
    this.outcomes.push(r);
  }
}

export type World = {
  cloud: FakeCloud;
  store: MemoryStore;
  executionStatus: string;
  actionStacks: DeployedStack[];
  emptied: string[];
  imagesDeleted: string[];
  /** Status events never arrive: every task-token wait times out and the fallback poll decides. */
  eventsLost: boolean;
  /** Simulated clock (ms); each timed-out wait advances it by the wait's timeout. */
  now: number;
  settings: Settings;
  published: Array<{ detailType: string; detail: Record<string, unknown> }>;
  slack: string[];
  transitions: Map<number, number>;
  /** The jitter draw (0–1) the task function sees. */
  random: number;
  /**
   * The hub's own account and region (set: stacks elsewhere go through `elsewhere`, which refuses accounts the
   * settings do not list, as the wiring does); the locations `elsewhere` was asked for, in order.
   */
  home?: Location;
  reached: string[];
  /** Where each CodePipeline read went (`home`, or the pipeline's `<account>/<region>`). */
  pipelineReads: string[];
};

export const newWorld = (settings: unknown = {}): World => {
  const w = newWorldData(settings);
  w.cloud.now = () => w.now;
  return w;
};

const newWorldData = (settings: unknown): World => ({
  cloud: new FakeCloud(),
  store: new MemoryStore(),
  executionStatus: 'Failed',
  actionStacks: [],
  emptied: [],
  imagesDeleted: [],
  eventsLost: false,
  now: Date.parse('2026-01-01T00:00:00Z'),
  settings: parseSettings({ teardown: { slackChannels: ['C1'], ...(settings as object) } }),
  published: [],
  slack: [],
  transitions: new Map(),
  random: 0.5,
  reached: [],
  pipelineReads: [],
});

export const depsFor = (w: World): DispatchDeps => ({
  ...(w.home
    ? {
        home: w.home,
        // One fake cloud holds every account's stacks (keyed by ARN); reaching a location is what is checked.
        elsewhere: async (where: Location) => {
          accessTo(where, w.home as Location, w.settings.organization);
          w.reached.push(`${where.accountId}/${where.region}`);
          return {
            stacks: w.cloud,
            buckets: {
              emptyBucket: async (b: string) => {
                w.emptied.push(`${where.accountId}:${b}`);
                return 3;
              },
            },
            images: { deleteImages: async () => 2 },
          };
        },
      }
    : {}),
  stacks: w.cloud,
  store: w.store,
  executions: {
    status: async (_p, _e, where) => {
      w.pipelineReads.push(where ? `status ${where.accountId}/${where.region}` : 'status home');
      return w.executionStatus;
    },
  },
  actions: {
    stacksOf: async (_p, _e, where) => {
      w.pipelineReads.push(where ? `actions ${where.accountId}/${where.region}` : 'actions home');
      return w.actionStacks;
    },
  },
  buckets: {
    emptyBucket: async (b) => {
      w.emptied.push(b);
      return 3;
    },
  },
  images: {
    deleteImages: async (r) => {
      w.imagesDeleted.push(r);
      return 2;
    },
  },
  settings: async () => w.settings,
  clock: { now: () => new Date(w.now) },
  random: () => w.random,
  finish: {
    store: w.store,
    slack: {
      postMessage: async (m) => {
        w.slack.push(m.text);
        return { channel: m.channel, ts: '1' };
      },
      updateMessage: async () => {},
      postEphemeral: async () => {},
      openView: async () => {},
    },
    mailer: undefined,
    events: {
      publish: async (detailType, detail) => {
        w.published.push({ detailType, detail });
      },
    },
    settings: async () => w.settings,
    now: () => new Date(w.now),
    warn: () => {},
  },
});

/**
 * The definition as deployed, with two local-engine adaptations: DefinitionSubstitutions get stand-in ARNs, and
 * `TimeoutSecondsPath` (which AWS resolves against the state's raw input) is re-pointed into the Parameters
 * output, because aws-local-stepfunctions resolves it against the effective input after Parameters.
 */
export const definitionText = readFileSync(new URL('../../statemachines/teardown.asl.json', import.meta.url), 'utf8');
const definition = JSON.parse(
  definitionText
    .replace(/\$\{(\w+)\}/g, (_m, name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`)
    .replaceAll(
      '"TimeoutSecondsPath": "$.item.awaitSeconds"',
      '"TimeoutSecondsPath": "$.Payload.state.item.awaitSeconds"',
    ),
);

const timeout = () => Object.assign(new Error('task timed out'), { name: 'States.Timeout' });

/** Wraps errors so the engine sees the error name Step Functions would (the Lambda's errorType). */
const named = async (fn: () => Promise<unknown>) => {
  try {
    return (await fn()) as never;
  } catch (err) {
    const e = err as Error;
    throw Object.assign(new Error(e.message), { name: e.name });
  }
};

type Payload = { Payload: Record<string, unknown> };

/** Validated once (asl-validator runs in the constructor); executions are independent. */
const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });

export const runTeardown = async (w: World, input: unknown, executionName = `${PIPELINE}--${EXECUTION}`) => {
  const deps = depsFor(w);
  const direct = (x: unknown) => named(() => dispatchRaw(x, deps) as Promise<never>);
  // The WaitForStable Wait is overridden to 0 ms; the simulated clock still moves by the seconds it would wait.
  const inspect = (x: unknown) => {
    const item = (x as { state?: { item?: { next?: string; waitSeconds?: number } } }).state?.item;
    if (item?.next === 'stabilise') w.now += (item.waitSeconds ?? 0) * 1000;
    return direct(x);
  };
  const waitTask = (x: unknown) =>
    named(async () => {
      const payload = (x as Payload).Payload;
      await dispatchRaw(payload, deps);
      const item = (payload.state as { item: { stackId: string; awaitSeconds: number } }).item;
      const s = w.cloud.stacks.get(item.stackId);
      // The status event arrives when the simulated deletion ends, if that is before this wait's timeout.
      if (!w.eventsLost && s?.pending && s.pending.completeAt <= w.now + item.awaitSeconds * 1000) {
        w.now = Math.max(w.now, s.pending.completeAt);
      }
      if (s) w.cloud.settle(s);
      // No event: lost, or the stack is still deleting when the wait's timeout fires.
      if (w.eventsLost || !s || s.status === 'DELETE_IN_PROGRESS') {
        w.now += item.awaitSeconds * 1000;
        throw timeout();
      }
      return { status: s.status, ...(s.statusReason ? { reason: s.statusReason } : {}), via: 'event' } as never;
    });
  const tasks = [
    'Start',
    'CheckExecution',
    'Cancelled',
    'Discover',
    'Finish',
    'Inspect',
    'Conclude',
    'Diagnose',
    'Remediate',
    'RecordStack',
  ];
  const execution = machine.run(input as JSONValue, {
    overrides: {
      taskResourceLocalHandlers: {
        ...Object.fromEntries(tasks.map((t) => [t, direct])),
        Inspect: inspect,
        DeleteAndAwait: waitTask,
        AwaitDeletion: waitTask,
      },
      waitTimeOverrides: { GraceWait: 0, WaitForStable: 0 },
      retryIntervalOverrides: Object.fromEntries([...tasks, 'DeleteAndAwait', 'AwaitDeletion'].map((t) => [t, 0])),
    },
    context: { Execution: { Name: executionName, Input: input as JSONValue }, Task: { Token: 'task-token-1' } },
  });
  const counting = (async () => {
    for await (const ev of execution.eventLogs) {
      if (ev.type === 'StateEntered' && 'index' in ev && typeof ev.index === 'number') {
        w.transitions.set(ev.index, (w.transitions.get(ev.index) ?? 0) + 1);
      }
    }
  })();
  try {
    return (await execution.result) as Record<string, unknown>;
  } finally {
    await counting.catch(() => {});
  }
};

export const executionInput = (over: Record<string, unknown> = {}) => ({
  pipeline: PIPELINE,
  executionId: EXECUTION,
  reason: 'FAILED',
  dryRun: false,
  graceSeconds: 300,
  ...over,
});

export const outcomeOf = (w: World, stackName: string) => w.store.outcomes.find((o) => o.stackName === stackName);
