import { createHash, randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertBindable, LocalConfigError, readConfig } from './config.ts';
import { applyModel } from './runtime/bootstrap.ts';
import { createControl } from './runtime/control.ts';
import { Faults } from './runtime/faults.ts';
import { type FunctionSpec, Invoker } from './runtime/invoker.ts';
import { Meter } from './runtime/meter.ts';
import { Outbox } from './runtime/outbox.ts';
import { Partitions, type ServiceFactory } from './runtime/partitions.ts';
import { Scheduler } from './runtime/scheduler.ts';
import { discoverServices } from './runtime/services.ts';
import { loadTemplate } from './runtime/template.ts';
import { buildModel, type LocalModel, readLocalConfig, type SlackDirectoryConfig } from './runtime/wiring.ts';
import { createRequestHandler } from './server.ts';
import { DynamoDb } from './services/dynamodb/index.ts';
import { registerSession } from './services/sts/index.ts';
import type { LocalContext, LocalService, Logger } from './services/types.ts';
import { FileStore } from './store/store.ts';

/**
 * `npm start`: the whole control plane on one machine behind AWS-compatible endpoints. `startLocalCloud` is the
 * same thing as a function, for tests (port 0 picks a free port).
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REGION = 'us-east-1';
export const ACCOUNT_ID = '000000000000';
/** The local stack's name: the functions' role names derive from it, as SAM's do from the stack's. */
export const STACK_NAME = 'stagecrew';

/** A function's access key: stable across restarts, a session of its execution role (local/services/sts). */
const functionAccessKey = (name: string): string =>
  `ASIA${createHash('sha256').update(name).digest('hex').toUpperCase().slice(0, 16)}`;

export type ExtraFunction = Partial<
  Pick<FunctionSpec, 'timeoutSeconds' | 'memoryMb' | 'environment' | 'exportName'>
> & {
  name: string;
  /** Absolute path of the module; `exportName` defaults to `handler`. */
  modulePath: string;
};

export type StartOptions = {
  port?: number;
  host?: string;
  allowRemote?: boolean;
  stateDir: string;
  templatePath?: string;
  /** `stagecrew.local.json` (parameter overrides, the local Slack directory); optional. */
  localConfigPath?: string;
  /** The local Slack workspace (tests); overrides the local config's `slack`. */
  slackDirectory?: SlackDirectoryConfig;
  /** Extra functions (tests): registered next to the template's, with the same local environment. */
  functions?: ExtraFunction[];
  /** Delays before Lambda's two async retries (default one and two minutes). */
  asyncRetryDelaysMs?: number[];
  /** Silences the cloud's log and the functions' output. */
  quiet?: boolean;
  /** Run the template's schedules on their rate (default true). */
  schedules?: boolean;
  servicesDir?: string;
  /**
   * First-hour defaults (`npm start`): a demo approver, channel, sender and Slack workspace, a Slack bot token in the
   * secret and a short teardown grace, so the first approval shows up in the outbox and on the dashboard. Anything
   * set in `stagecrew.local.json` wins; tests start without them.
   */
  demo?: boolean;
};

/** What `demo` seeds: each applies only where `stagecrew.local.json` sets nothing of its own. */
export const DEMO = {
  parameters: {
    SlackDefaultChannel: 'C0DEMOLOCAL',
    EmailRecipients: 'approver@example.com',
    EmailSender: 'stagecrew@example.com',
    TeardownGraceSeconds: 30,
  },
  slack: {
    users: [{ id: 'U0DEMOAPPROVER', name: 'approver', realName: 'Demo Approver', email: 'approver@example.com' }],
    channels: { C0DEMOLOCAL: ['U0DEMOAPPROVER'] },
  } satisfies SlackDirectoryConfig,
  secret: { slackBotToken: 'xoxb-local-demo' },
};

/** Seeds the demo Slack credentials into a generated secret template (the signing secret is random). */
const withDemoSecret = (template: string): string => {
  const doc = JSON.parse(template) as Record<string, unknown>;
  if (!('slackBotToken' in doc)) return template;
  if (!doc.slackBotToken) doc.slackBotToken = DEMO.secret.slackBotToken;
  if (!doc.slackSigningSecret) doc.slackSigningSecret = randomBytes(16).toString('hex');
  return JSON.stringify(doc);
};

export type LocalCloud = {
  url: string;
  port: number;
  ctx: LocalContext;
  model: LocalModel;
  invoker: Invoker;
  outbox: Outbox;
  dynamodb: DynamoDb;
  services: LocalService[];
  /** Problems met while creating the template's resources (empty when all went well). */
  problems: string[];
  stop(): Promise<void>;
};

const makeLogger = (quiet: boolean): Logger => {
  const write = (level: string) => (message: string, data?: Record<string, unknown>) => {
    if (quiet) return;
    const line = JSON.stringify({ level, message, ...data });
    if (level === 'error') process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  };
  return { info: write('info'), warn: write('warn'), error: write('error') };
};

export { plain } from './runtime/partitions.ts';

/** Environment every local function gets on top of the template's. */
export const localEnvironment = (baseUrl: string): Record<string, string> => ({
  STAGECREW_LOCAL_ENDPOINT: baseUrl,
  AWS_ENDPOINT_URL: baseUrl,
  PUBLIC_BASE_URL: baseUrl,
  SLACK_API_URL: `${baseUrl}/_slack/api`,
  AWS_REGION: REGION,
  AWS_DEFAULT_REGION: REGION,
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  POWERTOOLS_TRACE_ENABLED: 'false',
  POWERTOOLS_METRICS_DISABLED: 'true',
  AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
  TZ: 'UTC',
});

export const startLocalCloud = async (options: StartOptions): Promise<LocalCloud> => {
  const host = options.host ?? '127.0.0.1';
  assertBindable(host, options.allowRemote ?? false);
  const quiet = options.quiet ?? false;
  const log = makeLogger(quiet);
  const stateDir = resolve(options.stateDir);
  const store = new FileStore(join(stateDir, 'state'));
  let markReady: () => void = () => undefined;
  let markFailed: (err: unknown) => void = () => undefined;
  const ready = new Promise<void>((res, rej) => {
    markReady = res;
    markFailed = rej;
  });
  ready.catch(() => undefined);

  // Listen first: the functions' environment needs the real base URL (port 0 = a free port).
  let handler: RequestListener | undefined;
  const server: Server = createServer((req, res) => {
    if (handler) handler(req, res);
    else ready.then(() => handler?.(req, res)).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(options.port ?? 4566, host, () => res());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const dynamodb = new DynamoDb({ dir: join(stateDir, 'dynamodb'), store, log });
  const meter = new Meter();
  const faults = new Faults();
  const invoker = new Invoker({
    store,
    log,
    onInvocation: (r, memoryMb) => meter.invocation(r.functionName, r.durationMs, memoryMb, r.ok),
    ...(options.asyncRetryDelaysMs ? { retryDelaysMs: options.asyncRetryDelaysMs } : {}),
    ...(quiet ? { output: () => undefined } : {}),
  });
  let services: LocalService[] = [];
  const factories = new Map<string, ServiceFactory>();
  const partitions = new Partitions({
    accountId: ACCOUNT_ID,
    region: REGION,
    baseUrl: url,
    stateDir,
    store,
    log,
    dynamodb,
    invoker,
    meter,
  });
  // The home partition's context, set once the services are discovered.
  let ctx!: LocalContext;

  const outbox = new Outbox(store, url);
  let scheduler: Scheduler | undefined;
  let model: LocalModel;
  let problems: string[] = [];
  try {
    await dynamodb.start();
    services = await discoverServices(
      options.servicesDir ?? join(ROOT, 'local', 'services'),
      (name, err) => log.error('service module failed to load', { service: name, error: (err as Error).message }),
      (id, create) => factories.set(id, create),
    );
    const byId = new Set(services.map((s) => s.id));
    ctx = partitions.openHome(services, factories).ctx;

    const templatePath = resolve(options.templatePath ?? join(ROOT, 'template.yaml'));
    const localConfig = readLocalConfig(options.localConfigPath ?? join(dirname(templatePath), 'stagecrew.local.json'));
    model = buildModel(loadTemplate(templatePath), {
      templatePath,
      baseUrl: url,
      region: REGION,
      accountId: ACCOUNT_ID,
      parameterOverrides: options.demo ? { ...DEMO.parameters, ...localConfig.parameters } : localConfig.parameters,
      environment: localEnvironment(url),
    });
    if (options.demo) {
      for (const s of model.secrets) {
        if (s.generate?.template !== undefined) s.generate.template = withDemoSecret(s.generate.template);
      }
    }
    for (const fn of model.functions) {
      // Each function signs as its execution role's session, as Lambda's credentials do (trust policies that name
      // the hub's roles, and GetCallerIdentity, see that role).
      const accessKeyId = functionAccessKey(fn.name);
      registerSession(store, {
        accessKeyId,
        roleArn: `arn:aws:iam::${ACCOUNT_ID}:role/${STACK_NAME}-${fn.logicalId}Role`,
        sessionName: fn.name,
      });
      invoker.register({ ...fn, environment: { ...fn.environment, AWS_ACCESS_KEY_ID: accessKeyId } });
    }
    for (const extra of options.functions ?? []) {
      const memoryMb = extra.memoryMb ?? 256;
      invoker.register({
        name: extra.name,
        arn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${extra.name}`,
        modulePath: resolve(extra.modulePath),
        exportName: extra.exportName ?? 'handler',
        timeoutSeconds: extra.timeoutSeconds ?? 10,
        memoryMb,
        environment: {
          ...localEnvironment(url),
          ...extra.environment,
          AWS_LAMBDA_FUNCTION_NAME: extra.name,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
        },
      });
    }
    // The Slack stand-in's workspace directory (users, groups, channel members), replaced on every start.
    ctx.store.put(
      'slack:directory',
      'workspace',
      options.slackDirectory ?? localConfig.slack ?? (options.demo ? DEMO.slack : {}),
    );
    for (const s of services) await s.start?.(ctx);
    // Other accounts and regions an earlier run used resume too (their stacks, pipelines, deliveries).
    partitions.restore();
    problems = await applyModel(model, ctx, dynamodb, (id) => byId.has(id));
    scheduler = new Scheduler({
      store,
      log,
      schedules: model.schedules,
      region: REGION,
      accountId: ACCOUNT_ID,
      invoke: async (fn, payload) => {
        await invoker.invoke(fn, payload, 'Event');
      },
    });
    if (options.schedules !== false) scheduler.start();
    invoker.start();
    const control = createControl({
      ctx,
      outbox,
      invoker,
      scheduler,
      services,
      model,
      dynamodb,
      startedAt: new Date(),
      meter,
      faults,
    });
    handler = createRequestHandler({
      ctx,
      services,
      dynamodb,
      invoker,
      routes: () => model.routes,
      partitions,
      control,
      ready,
      meter,
      faults,
    });
    markReady();
  } catch (err) {
    markFailed(err);
    await new Promise<void>((res) => server.close(() => res()));
    await dynamodb.stop().catch(() => undefined);
    await invoker.stop();
    store.close();
    throw err;
  }

  let stopped = false;
  return {
    url,
    port,
    ctx,
    model,
    invoker,
    outbox,
    dynamodb,
    services,
    problems,
    async stop() {
      if (stopped) return;
      stopped = true;
      scheduler?.stop();
      server.closeAllConnections();
      await new Promise<void>((res) => server.close(() => res()));
      for (const s of services) await Promise.resolve(s.stop?.()).catch(() => undefined);
      await partitions.stop();
      await invoker.stop();
      await dynamodb.stop();
      store.close();
    },
  };
};

const main = async (): Promise<void> => {
  let config: ReturnType<typeof readConfig>;
  try {
    config = readConfig();
  } catch (err) {
    if (err instanceof LocalConfigError) {
      process.stderr.write(`stagecrew local: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const cloud = await startLocalCloud({
    port: config.port,
    host: config.host,
    allowRemote: config.allowRemote,
    stateDir: config.stateDir,
    demo: config.demo,
  });
  const lines = [
    `Stagecrew local cloud listening on ${cloud.url}`,
    `  state:     ${config.stateDir}`,
    `  dashboard: ${cloud.url}/_local/`,
    `  outbox:    ${cloud.url}/_local/outbox`,
    '',
    'Point AWS clients at it:',
    `  export AWS_ENDPOINT_URL=${cloud.url}`,
    `  export AWS_REGION=${REGION} AWS_DEFAULT_REGION=${REGION}   # the AWS CLI v1 reads AWS_DEFAULT_REGION`,
    '  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local',
    '',
  ];
  for (const p of cloud.problems) lines.push(`  warning: ${p}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  const shutdown = (signal: string) => {
    process.stdout.write(`${signal}: stopping\n`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    cloud.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`stagecrew local: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
