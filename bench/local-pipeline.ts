/**
 * Local pipelines end to end: a three-stage pipeline with trivial actions run repeatedly on a started local
 * cloud through the real CodePipeline SDK client, timing each execution from StartPipelineExecution until
 * GetPipelineExecution reports Succeeded. The local cloud's own overhead is the execution's wall time minus
 * the time its actions spent working (per stage, the longest action, from ListActionExecutions timestamps).
 * Prints a Markdown section.
 *
 *   node bench/local-pipeline.ts            (20 executions per pipeline after 2 warm-up runs)
 *   BENCH_RUNS=50 node bench/local-pipeline.ts
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CodePipelineClient,
  CreatePipelineCommand,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  type StageDeclaration,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { startLocalCloud } from '../local/main.ts';
import { actionType, s3SourceStage } from '../test/helpers/pipelines.ts';

const runs = Number(process.env.BENCH_RUNS ?? 20);
const warmup = 2;
const root = mkdtempSync(join(tmpdir(), 'stagecrew-bench-pipeline-'));
const src = join(root, 'src');
mkdirSync(src);
writeFileSync(join(src, 'index.html'), '<h1>bench</h1>\n');
writeFileSync(
  join(src, 'buildspec.yml'),
  'version: 0.2\nphases:\n  build:\n    commands:\n      - echo built > built.txt\nartifacts:\n  files:\n    - "**/*"\n',
);
writeFileSync(join(root, 'sources.json'), JSON.stringify({ 'bench-src/app.zip': src }));
process.env.STAGECREW_SOURCES = join(root, 'sources.json');
process.env.STAGECREW_DEPLOY_DIR = join(root, 'deploy');

const load0 = loadavg()[0] ?? 0;
const cloud = await startLocalCloud({ port: 0, stateDir: join(root, 'state'), quiet: true, schedules: false });
const client = new CodePipelineClient({
  endpoint: cloud.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

const source = s3SourceStage('bench-src', 'app.zip');
const pipelines = {
  'Source (directory) → CodeBuild (`echo`) → S3 deploy (extract)': [
    source,
    {
      name: 'Build',
      actions: [
        {
          name: 'Build',
          actionTypeId: actionType('Build', 'CodeBuild'),
          configuration: { ProjectName: 'bench' },
          inputArtifacts: [{ name: 'SourceOutput' }],
          outputArtifacts: [{ name: 'BuildOutput' }],
        },
      ],
    },
    {
      name: 'Deploy',
      actions: [
        {
          name: 'Deploy',
          actionTypeId: actionType('Deploy', 'S3'),
          configuration: { BucketName: 'bench-site', Extract: 'true' },
          inputArtifacts: [{ name: 'BuildOutput' }],
        },
      ],
    },
  ],
  'Source (directory) → simulated ECS → simulated Elastic Beanstalk': [
    source,
    {
      name: 'Staging',
      actions: [
        {
          name: 'Ecs',
          actionTypeId: actionType('Deploy', 'ECS'),
          configuration: { ClusterName: 'c', ServiceName: 's' },
          inputArtifacts: [{ name: 'SourceOutput' }],
        },
      ],
    },
    {
      name: 'Prod',
      actions: [
        {
          name: 'Beanstalk',
          actionTypeId: actionType('Deploy', 'ElasticBeanstalk'),
          configuration: { ApplicationName: 'a', EnvironmentName: 'e' },
          inputArtifacts: [{ name: 'SourceOutput' }],
        },
      ],
    },
  ],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f = (n: number) => n.toFixed(0);

async function runOnce(name: string): Promise<{ wall: number; work: number }> {
  const t0 = performance.now();
  const { pipelineExecutionId } = await client.send(new StartPipelineExecutionCommand({ name }));
  for (;;) {
    const out = await client.send(new GetPipelineExecutionCommand({ pipelineName: name, pipelineExecutionId }));
    const status = out.pipelineExecution?.status;
    if (status === 'Succeeded') break;
    if (status !== 'InProgress')
      throw new Error(`execution ${pipelineExecutionId} ended ${status}: ${out.pipelineExecution?.statusSummary}`);
    await sleep(2);
  }
  const wall = performance.now() - t0;
  const actions = await client.send(
    new ListActionExecutionsCommand({ pipelineName: name, filter: { pipelineExecutionId } }),
  );
  const perStage = new Map<string, number>();
  for (const a of actions.actionExecutionDetails ?? []) {
    const ms = (a.lastUpdateTime?.getTime() ?? 0) - (a.startTime?.getTime() ?? 0);
    perStage.set(a.stageName ?? '', Math.max(perStage.get(a.stageName ?? '') ?? 0, ms));
  }
  return { wall, work: [...perStage.values()].reduce((x, y) => x + y, 0) };
}

const rows: string[] = [];
let index = 0;
for (const [label, stages] of Object.entries(pipelines)) {
  const name = `bench-${++index}`;
  await client.send(
    new CreatePipelineCommand({
      pipeline: {
        name,
        roleArn: 'arn:aws:iam::123456789012:role/bench',
        artifactStore: { type: 'S3', location: 'bench-artifacts' },
        pipelineType: 'V2',
        executionMode: 'QUEUED',
        // The declarations above are plain JSON, as `--cli-input-json` takes them; the SDK types use enums.
        stages: stages as StageDeclaration[],
      },
    }),
  );
  // let the creation run finish before timing
  for (;;) {
    const list = await client.send(new ListPipelineExecutionsCommand({ pipelineName: name }));
    if (list.pipelineExecutionSummaries?.every((s) => s.status !== 'InProgress')) break;
    await sleep(5);
  }
  for (let i = 0; i < warmup; i++) await runOnce(name);
  const samples: Array<{ wall: number; work: number }> = [];
  for (let i = 0; i < runs; i++) samples.push(await runOnce(name));
  const wall = samples.map((s) => s.wall);
  const overhead = samples.map((s) => Math.max(0, s.wall - s.work));
  rows.push(
    `| ${label} | ${runs} | ${f(pct(wall, 50))} | ${f(mean(wall))} | ${f(pct(wall, 95))} | ${f(
      pct(
        samples.map((s) => s.work),
        50,
      ),
    )} | ${f(pct(overhead, 50))} | ${f(pct(overhead, 95))} |`,
  );
}
const load1 = loadavg()[0] ?? 0;
await cloud.stop();
rmSync(root, { recursive: true, force: true });

console.log(`## Local pipelines end to end

\`bench/local-pipeline.ts\`: a started local cloud driven with the real CodePipeline SDK client; each execution is timed from \`StartPipelineExecution\` until \`GetPipelineExecution\` says \`Succeeded\` (polled every 2 ms), ${runs} executions per pipeline after ${warmup} warm-up runs. "Action work" is, per stage, the longest action's start-to-finish time from \`ListActionExecutions\`, summed; "overhead" is wall time minus action work: the engine, the artifact store, events and the client's own polling. ${process.version}, ${process.platform} ${process.arch}; load average before the run ${load0.toFixed(1)}, after ${load1.toFixed(1)}.

| Pipeline (3 stages) | runs | p50 ms | mean ms | p95 ms | action work p50 ms | overhead p50 ms | overhead p95 ms |
|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
`);
