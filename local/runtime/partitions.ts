import type { DynamoDb } from '../services/dynamodb/index.ts';
import {
  AwsError,
  type EventEntry,
  type LocalContext,
  type LocalService,
  type Logger,
  QueryMap,
} from '../services/types.ts';
import type { StateStore } from '../store/store.ts';
import type { Invoker } from './invoker.ts';
import type { Meter } from './meter.ts';
import { ALIASES } from './services.ts';

/**
 * Accounts and regions of the local cloud, as AWS separates them: each (account, region) pair is a partition with
 * its own CloudFormation stacks, pipelines, event buses, state machines, topics and parameters, so a pipeline in one
 * account can deploy into another account's region and the hub in a third tears it down.
 *
 * The home partition (the local cloud's own account and region) is where the template's resources live; it keeps the
 * store's plain namespaces, so state written before partitions existed is still there. Every other partition scopes
 * the namespaces of the shared journal with `@<account>/<region>` and is created on first use (a request signed for
 * it, an `sts:AssumeRole` session's calls, an event relayed to its bus), remembered in the store and started again
 * after a restart. Services with engines or timers (CloudFormation, CodePipeline, Step Functions, EventBridge) get
 * their own instance per partition from the module's `createService`; the stateless ones (SNS, SSM, Secrets Manager,
 * SES) serve every partition from their state in the scoped store. What is global on AWS stays global here: S3
 * (bucket names are global), STS sessions and IAM roles (`iam:` and `sts:` namespaces, keyed by ARN), Lambda (the
 * template's functions) and DynamoDB (one dynalite; only the hub has tables).
 */
export type Partition = {
  readonly accountId: string;
  readonly region: string;
  readonly ctx: LocalContext;
  readonly services: LocalService[];
  readonly byId: ReadonlyMap<string, LocalService>;
};

/** A module's factory of a fresh service instance (`export const createService` beside `export const service`). */
export type ServiceFactory = () => LocalService;

const PARTITIONS_NS = 'local:partitions';
/** Namespaces that are global on AWS: S3 buckets, STS sessions, IAM roles. */
const GLOBAL_NS = /^(s3|sts|iam):/;
/** Services whose state is global: a partition's calls go to the home instance with the home context. */
const GLOBAL_SERVICES = new Set(['s3', 'sts']);

export const ACCOUNT_ID_PATTERN = /^\d{12}$/;
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** A view of the store whose namespaces are those of one partition (global namespaces pass through). */
export const scopedStore = (store: StateStore, tag: string): StateStore => {
  const ns = (name: string) => (GLOBAL_NS.test(name) ? name : `${name}@${tag}`);
  return {
    get: (name, key) => store.get(ns(name), key),
    put: (name, key, value) => store.put(ns(name), key, value),
    delete: (name, key) => store.delete(ns(name), key),
    list: (name) => store.list(ns(name)),
    close: () => undefined,
  };
};

const BYTES = '__stagecrewLocalBytes';

/**
 * Output values of `call()`: QueryMaps as plain objects and dates as ISO strings, as JSON would carry them, except
 * blob members (S3 `GetObject` `Body`), which stay bytes: a Buffer, never text, so binary objects (zips) survive.
 */
export const plain = (value: unknown): Record<string, unknown> =>
  JSON.parse(
    JSON.stringify(value ?? {}, function (this: Record<string, unknown>, key, v) {
      const raw = this[key];
      if (raw instanceof Uint8Array)
        return { [BYTES]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
      return v instanceof QueryMap ? v.entries : v;
    }),
    (_k, v) =>
      v !== null && typeof v === 'object' && typeof v[BYTES] === 'string' && Object.keys(v).length === 1
        ? Buffer.from(v[BYTES], 'base64')
        : v,
  ) as Record<string, unknown>;

export type PartitionsOptions = {
  accountId: string;
  region: string;
  baseUrl: string;
  stateDir?: string;
  store: StateStore;
  log: Logger;
  dynamodb: DynamoDb;
  invoker: Invoker;
  meter?: Meter;
};

export class Partitions {
  readonly #o: PartitionsOptions;
  readonly #all = new Map<string, Partition>();
  #factories = new Map<string, ServiceFactory>();
  #home: Partition | undefined;

  constructor(options: PartitionsOptions) {
    this.#o = options;
  }

  /** The home partition, over the services the local cloud discovered (their module-level instances). */
  openHome(services: LocalService[], factories: Map<string, ServiceFactory>): Partition {
    this.#factories = factories;
    const home = this.#build(this.#o.accountId, this.#o.region, this.#o.store, services);
    this.#home = home;
    this.#all.set(keyOf(this.#o.accountId, this.#o.region), home);
    return home;
  }

  get home(): Partition {
    if (!this.#home) throw new Error('the home partition is not open yet');
    return this.#home;
  }

  /**
   * The partition of an account and region, created and started on first use. A malformed account id or region is
   * the caller's problem to report; here it falls back to the home partition's value.
   */
  get(accountId: string, region: string): Partition {
    const account = ACCOUNT_ID_PATTERN.test(accountId) ? accountId : this.#o.accountId;
    const where = REGION_PATTERN.test(region) ? region : this.#o.region;
    const key = keyOf(account, where);
    const found = this.#all.get(key);
    if (found) return found;
    if (!this.#o.store.get(PARTITIONS_NS, key)) this.#o.store.put(PARTITIONS_NS, key, { account, region: where });
    return this.#start(account, where);
  }

  /** Starts every partition an earlier run created (their stacks, pipelines and deliveries resume). */
  restore(): void {
    for (const [, p] of this.#o.store.list<{ account: string; region: string }>(PARTITIONS_NS)) {
      if (!this.#all.has(keyOf(p.account, p.region))) this.#start(p.account, p.region);
    }
  }

  async stop(): Promise<void> {
    for (const p of this.#all.values()) {
      if (p === this.#home) continue;
      for (const s of p.services) await Promise.resolve(s.stop?.()).catch(() => undefined);
    }
  }

  #start(account: string, region: string): Partition {
    const home = this.home;
    const services = home.services.map((s) => this.#factories.get(s.id)?.() ?? s);
    const partition = this.#build(account, region, scopedStore(this.#o.store, `${account}/${region}`), services);
    this.#all.set(keyOf(account, region), partition);
    for (const s of partition.services) {
      // Shared stateless instances were started by the home partition; only fresh instances start here.
      if (home.byId.get(s.id) === s) continue;
      Promise.resolve(s.start?.(partition.ctx)).catch((err: unknown) =>
        this.#o.log.error('service failed to start in a partition', {
          service: s.id,
          account,
          region,
          error: (err as Error).message,
        }),
      );
    }
    return partition;
  }

  #build(accountId: string, region: string, store: StateStore, services: LocalService[]): Partition {
    const o = this.#o;
    const byId = new Map(services.map((s) => [s.id, s]));
    const ctx: LocalContext = {
      region,
      accountId,
      baseUrl: o.baseUrl,
      ...(o.stateDir !== undefined ? { stateDir: o.stateDir } : {}),
      store,
      log: o.log,
      async putEvents(entries: EventEntry[]) {
        if (!byId.has('eventbridge')) {
          o.log.warn('no eventbridge service: events dropped', { count: entries.length });
          return entries.map(() => ({
            ErrorCode: 'ServiceUnavailable',
            ErrorMessage: 'eventbridge is not available locally',
          }));
        }
        const out = await ctx.call('eventbridge', 'PutEvents', { Entries: entries });
        return (out.Entries ?? []) as Array<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }>;
      },
      invoke: (name, payload, type = 'RequestResponse', options) => o.invoker.invoke(name, payload, type, options),
      call: async (service, operation, input) => {
        const key = service.toLowerCase();
        const id = ALIASES[key] ?? key;
        if (GLOBAL_SERVICES.has(id) && this.#home && this.#home.ctx !== ctx) {
          return this.#home.ctx.call(service, operation, input);
        }
        o.meter?.call(id, operation, 'in-process');
        if (key === 'dynamodb') return o.dynamodb.call(operation, input);
        if (key === 'lambda') {
          if (operation !== 'Invoke')
            throw new AwsError('UnknownOperationException', `lambda ${operation} is not supported locally`);
          const type = input.InvocationType === 'Event' ? 'Event' : 'RequestResponse';
          const payload = typeof input.Payload === 'string' ? JSON.parse(input.Payload) : (input.Payload ?? {});
          const result = await o.invoker.invoke(String(input.FunctionName), payload, type);
          return type === 'Event'
            ? { StatusCode: 202 }
            : { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: result };
        }
        const svc = byId.get(id);
        if (!svc) throw new AwsError('UnknownServiceException', `Service ${service} is not available locally`);
        const op = svc.operations?.[operation] ?? svc.internal?.[operation];
        if (!op) throw new AwsError('UnknownOperationException', `Unknown operation ${service}:${operation}`);
        return plain(await op(input, ctx));
      },
      partition: (account, where) => this.get(account, where).ctx,
    };
    return { accountId, region, ctx, services, byId };
  }
}

const keyOf = (account: string, region: string) => `${account}/${region}`;
