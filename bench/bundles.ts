/**
 * Bundle size and cold-start init per function.
 *
 * Each function is bundled exactly as `sam build` does it (esbuild with the template's BuildProperties), then a
 * fresh `node` process imports the bundle and reports how long the import (module init: SDK clients, config,
 * Powertools) took. Next to it, a bare handler that imports and constructs only the function's main SDK client,
 * bundled the same way: the ratio shows what Stagecrew adds on top of the unavoidable SDK cost.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { loadTemplate } from '../local/runtime/template.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);

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

// Environment a deployed function would have (names only; nothing is called at init).
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  POWERTOOLS_SERVICE_NAME: 'stagecrew',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  POWERTOOLS_TRACE_ENABLED: 'false',
  POWERTOOLS_METRICS_NAMESPACE: 'Stagecrew',
  STATE_TABLE_NAME: 'bench-table',
  SETTINGS_PARAMETER_NAME: 'bench-settings',
  SECRETS_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench',
  PUBLIC_BASE_URL: 'https://example.execute-api.us-east-1.amazonaws.com',
  SLACK_API_URL: 'https://slack.com/api',
  APPROVAL_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:bench',
  TEARDOWN_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:bench',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
};

const bundle = async (entry: string | { contents: string }, outfile: string, props: Record<string, unknown>) => {
  await build({
    ...(typeof entry === 'string'
      ? { entryPoints: [entry] }
      : { stdin: { contents: entry.contents, resolveDir: process.cwd(), loader: 'ts' as const } }),
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: String(props.Target ?? 'node24'),
    minify: props.Minify === true,
    sourcemap: props.Sourcemap === true,
    keepNames: props.KeepNames === true,
    // SAM's MainFields (comma-separated): `module,main` picks the SDK's ES module builds, which tree-shake.
    ...(typeof props.MainFields === 'string' ? { mainFields: props.MainFields.split(',').map((f) => f.trim()) } : {}),
    banner: { js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);' },
    logLevel: 'error',
  });
};

/** Median ms of importing `file` in a fresh process, measured inside the process around the import. */
const coldInit = (file: string): number => {
  const probe = `const t=performance.now();await import(${JSON.stringify(file)});console.log(performance.now()-t);`;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`init of ${file} failed: ${r.stderr}`);
    times.push(Number(r.stdout.trim()));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
};

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

const rows: string[] = [];
for (const [id, resource] of Object.entries(template.Resources)) {
  if (resource.Type !== 'AWS::Serverless::Function') continue;
  const props = (resource.Metadata?.BuildProperties ?? {}) as Record<string, unknown>;
  const entry = (props.EntryPoints as string[])[0] as string;
  const fnFile = join(out, `${id}.mjs`);
  await bundle(entry, fnFile, props);
  const [pkg, cls] = MAIN_CLIENT[id] ?? ['@aws-sdk/client-dynamodb', 'DynamoDBClient'];
  const bareEntry = {
    contents: `import { ${cls} } from '${pkg}';\nconst client = new ${cls}({});\nexport const handler = async () => client.config.region;\n`,
  };
  const bareFile = join(out, `${id}-bare.mjs`);
  await bundle(bareEntry, bareFile, props);
  const size = statSync(fnFile).size;
  const gz = gzipSync(readFileSync(fnFile)).length;
  const bareSize = statSync(bareFile).size;
  const fnInit = coldInit(fnFile);
  const bareInit = coldInit(bareFile);
  rows.push(
    `| ${id} | ${kb(size)} | ${kb(gz)} | ${kb(bareSize)} | ${fnInit.toFixed(1)} ms | ${bareInit.toFixed(1)} ms (${cls}) | ${(fnInit / bareInit).toFixed(2)}× |`,
  );
}

console.log(`## Bundles and cold start

\`node bench/bundles.ts\` — esbuild with the template's BuildProperties (ESM, node24, minified, sourcemap
excluded from the size); init = median of ${RUNS} fresh \`node\` processes importing the bundle (module init only).

| function | bundle | gzip | bare bundle | init | bare init (main client) | ratio |
|---|---|---|---|---|---|---|
${rows.join('\n')}
`);
