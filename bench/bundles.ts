/**
 * Bundle size, what fills it, and cold-start init per function, under deployed conditions.
 *
 * Each function is bundled exactly as `sam build` does it (esbuild with the template's BuildProperties, source map
 * written beside the bundle), then a fresh `node` process imports the bundle and reports how long the import (module
 * init: SDK clients, config, Powertools) took. The process gets what Lambda gives a deployed function: the Lambda
 * environment variables (Powertools turns the Tracer on only inside Lambda), `POWERTOOLS_TRACE_ENABLED` and
 * `NODE_OPTIONS` as the template resolves them with its parameter defaults (`sam build` would add
 * `--enable-source-maps` on its own when a function has `Sourcemap: true` and no NODE_OPTIONS of its own).
 *
 * Next to it, in the same run and with the same settings and conditions: a bare handler that imports and constructs
 * only the function's main SDK client (the ratio shows what Stagecrew adds on top of the unavoidable SDK cost), and
 * the smallest Slack-approval handler one could write (bench/fixtures/minimal-approval.ts), which ApprovalApiFunction
 * is compared with. The contributors come from esbuild's metafile: output bytes per package.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { NO_VALUE, Resolver } from '../local/runtime/intrinsics.ts';
import { loadTemplate } from '../local/runtime/template.ts';
import { initClosure } from '../scripts/init-closure.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 9);

/** The SDK client each function cannot do without: the baseline it is compared to. */
const MAIN_CLIENT: Record<string, [pkg: string, cls: string]> = {
  ApprovalRequestFunction: ['@aws-sdk/client-codepipeline', 'CodePipelineClient'],
  ApprovalApiFunction: ['@aws-sdk/client-codepipeline', 'CodePipelineClient'],
  ApprovalRemindersFunction: ['@aws-sdk/client-dynamodb', 'DynamoDBClient'],
  PipelineEventsFunction: ['@aws-sdk/client-codepipeline', 'CodePipelineClient'],
  InvokeActionFunction: ['@aws-sdk/client-codepipeline', 'CodePipelineClient'],
  TeardownTaskFunction: ['@aws-sdk/client-cloudformation', 'CloudFormationClient'],
  StackEventsFunction: ['@aws-sdk/client-sfn', 'SFNClient'],
  TeardownSweeperFunction: ['@aws-sdk/client-cloudformation', 'CloudFormationClient'],
};

const template = loadTemplate('template.yaml');
const out = mkdtempSync(join(tmpdir(), 'stagecrew-bench-'));

// Environment Lambda gives a deployed function (names only; nothing is called at init).
const baseEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SESSION_TOKEN: 'bench',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
  AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001',
  AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
  AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129:2000',
  LAMBDA_TASK_ROOT: '/var/task',
  POWERTOOLS_SERVICE_NAME: 'stagecrew',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  POWERTOOLS_METRICS_NAMESPACE: 'Stagecrew',
  STAGECREW_ACCOUNT_ID: '123456789012',
  STATE_TABLE_NAME: 'bench-table',
  SETTINGS_PARAMETER_NAME: 'bench-settings',
  SECRETS_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench',
  PUBLIC_BASE_URL: 'https://example.execute-api.us-east-1.amazonaws.com',
  SLACK_API_URL: 'https://slack.com/api',
  APPROVAL_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:bench',
  TEARDOWN_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:bench',
};

/** The template's parameter defaults, for the environment values that depend on parameters only. */
const resolver = new Resolver({
  parameters: Object.fromEntries(Object.entries(template.Parameters ?? {}).map(([k, p]) => [k, p.Default ?? ''])),
  pseudo: { 'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012', 'AWS::Partition': 'aws' },
  refs: {},
  attributes: {},
  conditions: template.Conditions ?? {},
});
const globalVars = ((template.Globals?.Function?.Environment ?? {}) as { Variables?: Record<string, unknown> })
  .Variables;

/** NODE_OPTIONS and POWERTOOLS_TRACE_ENABLED as a deployed function gets them. */
const deployedEnv = (props: Record<string, unknown>, buildProps: Record<string, unknown>): NodeJS.ProcessEnv => {
  const own = ((props.Environment ?? {}) as { Variables?: Record<string, unknown> }).Variables ?? {};
  const env: NodeJS.ProcessEnv = { ...baseEnv };
  for (const key of ['NODE_OPTIONS', 'POWERTOOLS_TRACE_ENABLED']) {
    const raw = key in own ? own[key] : globalVars?.[key];
    if (raw === undefined) continue;
    const value = resolver.resolve(raw);
    if (value !== NO_VALUE && value !== '') env[key] = String(value);
  }
  // What `sam build` does for an esbuild function with Sourcemap: true and no NODE_OPTIONS of its own.
  if (buildProps.Sourcemap === true && (own.NODE_OPTIONS ?? globalVars?.NODE_OPTIONS) === undefined) {
    env.NODE_OPTIONS = '--enable-source-maps';
  }
  return env;
};

/** What one build produced: the entry file, the files init loads (entry + static chunks) and the metafile. */
type Built = { entry: string; loaded: string[]; meta: Metafile };

/** Builds like `sam build` does (code splitting when BuildProperties asks for it) into its own directory. */
const bundle = async (entry: string, dir: string, props: Record<string, unknown>): Promise<Built> => {
  mkdirSync(dir, { recursive: true });
  const result = await build({
    entryPoints: { app: entry },
    outdir: dir,
    // The bare handlers' entries live outside the project: resolve packages from the project's node_modules.
    nodePaths: [resolve('node_modules')],
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: props.Splitting === true,
    platform: 'node',
    format: 'esm',
    target: String(props.Target ?? 'node24'),
    minify: props.Minify === true,
    sourcemap: props.Sourcemap === true,
    keepNames: props.KeepNames === true,
    // SAM's MainFields (comma-separated): `module,main` picks the SDK's ES module builds, which tree-shake.
    ...(typeof props.MainFields === 'string' ? { mainFields: props.MainFields.split(',').map((f) => f.trim()) } : {}),
    banner: { js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);' },
    metafile: true,
    logLevel: 'error',
  });
  const meta = result.metafile;
  const entryKey = Object.keys(meta.outputs).find((f) => f.endsWith('/app.mjs')) ?? '';
  return { entry: resolve(entryKey), loaded: initClosure(meta, entryKey).map((f) => resolve(f)), meta };
};

/** Median ms of importing `file` in a fresh process, measured inside the process around the import. */
const coldInit = (file: string, env: NodeJS.ProcessEnv): number => {
  const probe = `const t=performance.now();await import(${JSON.stringify(file)});console.log(performance.now()-t);`;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`init of ${file} failed: ${r.stderr}`);
    times.push(Number(r.stdout.trim().split('\n').at(-1)));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
};

/** Output bytes per package (or per source folder) of the files init loads, largest first. */
const contributors = (built: Built, top = 6): string => {
  const byPackage = new Map<string, number>();
  for (const file of built.loaded) {
    const key = Object.keys(built.meta.outputs).find((f) => resolve(f) === file) ?? '';
    for (const [path, input] of Object.entries(built.meta.outputs[key]?.inputs ?? {})) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.split('/').slice(0, 2).join('/');
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + input.bytesInOutput);
    }
  }
  return [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([pkg, bytes]) => `${pkg} ${(bytes / 1024).toFixed(0)}`)
    .join(', ');
};

const bytesOf = (files: string[]) => files.reduce((n, f) => n + statSync(f).size, 0);
const gzipOf = (files: string[]) => files.reduce((n, f) => n + gzipSync(readFileSync(f)).length, 0);
/** Every file of a build except source maps: what the deployment package holds. */
const packageBytes = (built: Built) =>
  Object.keys(built.meta.outputs)
    .filter((f) => !f.endsWith('.map'))
    .reduce((n, f) => n + statSync(resolve(f)).size, 0);

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function');

const rows: string[] = [];
const parts: string[] = [];
let approvalApiInit = 0;
let approvalApiEnv: NodeJS.ProcessEnv = baseEnv;
let approvalApiProps: Record<string, unknown> = {};
for (const [id, resource] of functions) {
  const props = (resource.Metadata?.BuildProperties ?? {}) as Record<string, unknown>;
  const env = deployedEnv(resource.Properties ?? {}, props);
  const entry = (props.EntryPoints as string[])[0] as string;
  const fn = await bundle(entry, join(out, id), props);
  const [pkg, cls] = MAIN_CLIENT[id] ?? ['@aws-sdk/client-dynamodb', 'DynamoDBClient'];
  // Written to a file so it is built exactly like the function (code splitting needs entry files).
  const bareEntry = join(out, `${id}-bare.ts`);
  writeFileSync(
    bareEntry,
    `import { ${cls} } from '${pkg}';\nconst client = new ${cls}({});\nexport const handler = async () => client.config.region;\n`,
  );
  const bare = await bundle(bareEntry, join(out, `${id}-bare`), props);
  const size = bytesOf(fn.loaded);
  const gz = gzipOf(fn.loaded);
  const bareSize = bytesOf(bare.loaded);
  const fnInit = coldInit(fn.entry, env);
  const bareInit = coldInit(bare.entry, env);
  if (id === 'ApprovalApiFunction') {
    approvalApiInit = fnInit;
    approvalApiEnv = env;
    approvalApiProps = props;
  }
  const conditions = `${env.POWERTOOLS_TRACE_ENABLED === 'false' ? 'tracer off' : 'tracer on'}${env.NODE_OPTIONS ? `, ${env.NODE_OPTIONS}` : ''}`;
  rows.push(
    `| ${id} | ${kb(size)} (${fn.loaded.length} files) | ${kb(gz)} | ${kb(packageBytes(fn))} | ${conditions} | ${fnInit.toFixed(1)} ms | ${kb(bareSize)} | ${bareInit.toFixed(1)} ms (${cls}) | ${(fnInit / bareInit).toFixed(2)}× |`,
  );
  parts.push(`| ${id} | ${contributors(fn)} |`);
}

const minimal = await bundle('bench/fixtures/minimal-approval.ts', join(out, 'minimal-approval'), approvalApiProps);
const minimalInit = coldInit(minimal.entry, approvalApiEnv);

console.log(`## Bundles and cold start

\`node bench/bundles.ts\` — esbuild with the template's BuildProperties (ESM, node24, minified, code splitting, source
maps written beside the files and excluded from the sizes). "at init" = the entry and the chunks it imports
statically (what a cold start reads and compiles; chunks behind a dynamic import load on first use); "package" = every
file of the deployment package. Init = median of ${RUNS} fresh \`node\` processes importing the entry (module init
only) with a deployed function's environment: Lambda's variables, and the template's \`POWERTOOLS_TRACE_ENABLED\` and
\`NODE_OPTIONS\` at their parameter defaults (with the Tracer on, its chunk loads at init too). The bare handler
constructs only the main client and is built and run with the same settings.

| function | at init | gzip | package | conditions | init | bare at init | bare init (main client) | ratio |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

The smallest Slack-approval handler (bench/fixtures/minimal-approval.ts: CodePipeline client, HMAC check,
PutApprovalResult), same settings and conditions as ApprovalApiFunction: ${kb(bytesOf(minimal.loaded))} at init, init
${minimalInit.toFixed(1)} ms; ApprovalApiFunction ${approvalApiInit.toFixed(1)} ms (${(approvalApiInit / minimalInit).toFixed(2)}×).

What init loads (KiB of output per package, largest six):

| function | contributors |
|---|---|
${parts.join('\n')}
`);
