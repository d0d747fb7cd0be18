import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterEach, describe, expect, it } from 'vitest';
import { type GitFixture, gitFixture, seedApp } from './git-fixture.ts';
import { type Loose, makeHarness } from './harness.ts';

const seed = JSON.parse(readFileSync('test/fixtures/pipelines/seed-three-stage.json', 'utf8')) as {
  pipeline: Record<string, Loose>;
};
let fixture: GitFixture | undefined;
afterEach(() => fixture?.cleanup());

function setup(files: Record<string, string>) {
  fixture = gitFixture(files);
  const f = fixture;
  const h = makeHarness({
    env: {
      workDir: join(f.root, 'work'),
      deployDir: join(f.root, 'deploy'),
      resolveSource: (_provider, config) => (config.RepositoryName === 'awscicd-demo-app' ? f.repo : undefined),
    },
  });
  return { h, f, site: join(f.root, 'deploy/codedeploy/awscicd-demo/awscicd-demo-dg') };
}

const actions = async (h: ReturnType<typeof makeHarness>, pipelineName: string, id: string) =>
  (
    await h.op<{ actionExecutionDetails: Array<Record<string, Loose>> }>('ListActionExecutions', {
      pipelineName,
      filter: { pipelineExecutionId: id },
    })
  ).actionExecutionDetails;

describe('the seed tutorial pipeline: Source (local git) → CodeBuild (real commands) → CodeDeploy (local dir)', () => {
  it('runs end to end on create, then again on a commit to the watched branch', async () => {
    const { h, f, site } = setup(seedApp('v1'));
    await h.op('CreatePipeline', structuredClone(seed));
    const state = await h.state('awscicd-pipeline');
    expect(state.stageStates.map((s) => `${s.stageName}:${s.latestExecution?.status}`)).toEqual([
      'Source:Succeeded',
      'Build:Succeeded',
      'Deploy:Succeeded',
    ]);
    expect(readFileSync(join(site, 'var/www/html/index.html'), 'utf8')).toContain('v1');
    const firstId = await h.latestExecutionId('awscicd-pipeline');
    const head = (await h.execution('awscicd-pipeline', firstId)) as Loose;
    expect(head.artifactRevisions[0]).toMatchObject({ name: 'SourceOutput', revisionSummary: 'initial commit' });
    expect(readFileSync(join(site, 'var/www/html/build.txt'), 'utf8')).toBe(
      `built v1 (hello) from ${head.artifactRevisions[0].revisionId}\n`,
    );
    expect(readFileSync(join(site, 'hook.txt'), 'utf8')).toBe('after install AfterInstall\n');
    const build = (await actions(h, 'awscicd-pipeline', firstId)).find((a) => a.actionName === 'Build');
    expect(build?.output.outputVariables).toEqual({ BUILD_VERSION: 'v1', GREETING: 'hello' });

    // Act: nothing changed → no run; a commit → a run pinned to that commit
    await h.cp.tick();
    await h.cp.engine.idle();
    expect(
      (
        await h.op<{ pipelineExecutionSummaries: unknown[] }>('ListPipelineExecutions', {
          pipelineName: 'awscicd-pipeline',
        })
      ).pipelineExecutionSummaries,
    ).toHaveLength(1);
    const commit = f.commit({ 'index.html': '<h1>awscicd demo app — v2</h1>\n' }, 'ship v2');
    await h.cp.tick();
    await h.cp.engine.idle();
    const summaries = (
      await h.op<{ pipelineExecutionSummaries: Array<Record<string, Loose>> }>('ListPipelineExecutions', {
        pipelineName: 'awscicd-pipeline',
      })
    ).pipelineExecutionSummaries;
    expect(summaries).toHaveLength(2);
    expect(summaries[0]).toMatchObject({
      status: 'Succeeded',
      trigger: { triggerType: 'PollForSourceChanges' },
      sourceRevisions: [{ actionName: 'Source', revisionId: commit, revisionSummary: 'ship v2' }],
    });
    expect(readFileSync(join(site, 'var/www/html/index.html'), 'utf8')).toContain('v2');
  });

  it('honours PollForSourceChanges: false (only an EventBridge rule targeting the pipeline starts it)', async () => {
    const { h, f } = setup(seedApp('v1'));
    const p = structuredClone(seed.pipeline);
    p.stages[0].actions[0].configuration.PollForSourceChanges = 'false';
    await h.op('CreatePipeline', { pipeline: p });
    const runs = async () =>
      (
        await h.op<{ pipelineExecutionSummaries: Array<Record<string, Loose>> }>('ListPipelineExecutions', {
          pipelineName: 'awscicd-pipeline',
        })
      ).pipelineExecutionSummaries;
    const rules: string[] = [];
    h.handlers['eventbridge.ListRuleNamesByTarget'] = async () => ({ RuleNames: rules });

    f.commit({ 'index.html': 'v2' }, 'no rule yet');
    await h.cp.tick();
    await h.cp.engine.idle();
    expect(await runs()).toHaveLength(1);
    expect(h.calls.find((c) => c.operation === 'ListRuleNamesByTarget')?.input).toEqual({
      TargetArn: expect.stringMatching(/^arn:aws:codepipeline:[a-z0-9-]+:\d{12}:awscicd-pipeline$/),
    });

    rules.push('awscicd-pipeline-on-commit');
    f.commit({ 'index.html': 'v3' }, 'with a rule');
    await h.cp.tick();
    await h.cp.engine.idle();
    const after = await runs();
    expect(after).toHaveLength(2);
    expect(after[0]).toMatchObject({ trigger: { triggerType: 'CloudWatchEvent' } });
  });

  it('fails the build with the log tail, still running post_build', async () => {
    const app = seedApp('v1');
    app['buildspec.yml'] =
      'version: 0.2\nphases:\n  build:\n    commands:\n      - echo compiling\n      - \'echo "error: tests failed" >&2 && exit 3\'\n  post_build:\n    commands:\n      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"\nartifacts:\n  files: ["**/*"]\n';
    const { h } = setup(app);
    await h.op('CreatePipeline', structuredClone(seed));
    const id = await h.latestExecutionId('awscicd-pipeline');
    const exec = await h.execution('awscicd-pipeline', id);
    expect(exec.status).toBe('Failed');
    expect(exec.statusSummary).toContain('Error in BUILD phase: exit status 3');
    expect(exec.statusSummary).toContain('error: tests failed');
    expect(exec.statusSummary).toContain('succeeding=0');
  });

  it('applies V2 trigger file-path filters to commits', async () => {
    const { h, f } = setup(seedApp('v1'));
    const p = structuredClone(seed.pipeline);
    p.triggers = [
      {
        providerType: 'CodeStarSourceConnection',
        gitConfiguration: {
          sourceActionName: 'Source',
          push: [{ branches: { includes: ['main'] }, filePaths: { includes: ['index.html'] } }],
        },
      },
    ];
    await h.op('CreatePipeline', { pipeline: p });
    f.commit({ 'README.md': 'docs only' }, 'docs');
    await h.cp.tick();
    await h.cp.engine.idle();
    expect(
      (
        await h.op<{ pipelineExecutionSummaries: unknown[] }>('ListPipelineExecutions', {
          pipelineName: 'awscicd-pipeline',
        })
      ).pipelineExecutionSummaries,
    ).toHaveLength(1);
    f.commit({ 'index.html': '<h1>awscicd demo app — v3</h1>' }, 'v3');
    await h.cp.tick();
    await h.cp.engine.idle();
    expect(
      (
        await h.op<{ pipelineExecutionSummaries: unknown[] }>('ListPipelineExecutions', {
          pipelineName: 'awscicd-pipeline',
        })
      ).pipelineExecutionSummaries,
    ).toHaveLength(2);
  });

  it('packages artifacts with discard-paths, runs finally blocks and notes runtime-versions', async () => {
    const app = seedApp('v1');
    app['buildspec.yml'] = [
      'version: 0.2',
      'phases:',
      '  install:',
      '    runtime-versions:',
      '      nodejs: 18',
      '    commands:',
      '      - mkdir -p out/a/b',
      '    finally:',
      '      - echo cleanup ran > out/a/finally.txt',
      '  build:',
      '    commands:',
      '      - echo deep > out/a/b/deep.txt',
      'artifacts:',
      '  base-directory: out',
      '  discard-paths: yes',
      '  files:',
      "    - '**/*.txt'",
      '',
    ].join('\n');
    const { h } = setup(app);
    const p = structuredClone(seed.pipeline);
    p.stages = p.stages.slice(0, 2);
    p.stages.push({
      name: 'Ship',
      actions: [
        {
          name: 'Ship',
          actionTypeId: { category: 'Deploy', owner: 'AWS', provider: 'ECS', version: '1' },
          inputArtifacts: [{ name: 'BuildOutput' }],
        },
      ],
    });
    await h.op('CreatePipeline', { pipeline: p });
    const id = await h.latestExecutionId('awscicd-pipeline');
    expect((await h.execution('awscicd-pipeline', id)).status).toBe('Succeeded');
    const build = (await actions(h, 'awscicd-pipeline', id)).find((a) => a.actionName === 'Build');
    const loc = build?.output.outputArtifacts[0].s3location;
    const files = unzipSync(h.objects.get(`${loc.bucket}/${loc.key}`) as Uint8Array);
    expect(Object.keys(files).sort()).toEqual(['deep.txt', 'finally.txt']);
    const ship = (await actions(h, 'awscicd-pipeline', id)).find((a) => a.actionName === 'Ship');
    expect(ship?.output.executionResult.externalExecutionSummary).toContain('simulated by the local cloud');
    const log = h.store.get<string>('codepipeline:logs', build?.actionExecutionId) ?? '';
    expect(log).toContain('runtime-versions {"nodejs":18} ignored locally');
  });

  it('fails a source that has no local mapping with a message that says how to map it', async () => {
    const { h } = setup(seedApp('v1'));
    const p = structuredClone(seed.pipeline);
    p.stages[0].actions[0].configuration.RepositoryName = 'unknown-repo';
    await h.op('CreatePipeline', { pipeline: p });
    const exec = await h.execution('awscicd-pipeline', await h.latestExecutionId('awscicd-pipeline'));
    expect(exec).toMatchObject({ status: 'Failed' });
    expect(exec.statusSummary).toMatch(/No local source is configured for CodeCommit unknown-repo: map it/);
  });
});
