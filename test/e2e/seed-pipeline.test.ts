/**
 * The seed tutorial's three-stage pipeline (Source → Build → Deploy) on a started local cloud, driven with the
 * real CodePipeline SDK client: a local git repository stands in for CodeCommit, the buildspec runs real
 * commands, CodeDeploy copies into a local directory; a commit on the watched branch starts the next run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CodePipelineClient,
  CreatePipelineCommand,
  DeletePipelineCommand,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  GetPipelineStateCommand,
  ListPipelineExecutionsCommand,
  PipelineNotFoundException,
} from '@aws-sdk/client-codepipeline';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/local-cloud.ts';
import { seedPipeline, useSeedPipeline } from '../helpers/seed-pipeline.ts';
import type { GitFixture } from '../unit/local/codepipeline/git-fixture.ts';

const world = useSeedPipeline();
let client: CodePipelineClient;
let repo: GitFixture;
beforeAll(() => {
  ({ client, repo } = world());
});

const seed = seedPipeline;
const site = () => join(repo.root, 'deploy/codedeploy/awscicd-demo/awscicd-demo-dg/var/www/html');

describe('seed tutorial pipeline on the local cloud', () => {
  it('runs Source → Build → Deploy on create and again on a commit', async () => {
    const created = await client.send(new CreatePipelineCommand(seed()));
    expect(created.pipeline?.version).toBe(1);

    const stages = await waitFor(async () => {
      const state = await client.send(new GetPipelineStateCommand({ name: 'awscicd-pipeline' }));
      const statuses = state.stageStates?.map((s) => `${s.stageName}:${s.latestExecution?.status}`) ?? [];
      return statuses.every((s) => /Succeeded|Failed/.test(s)) && statuses.length === 3 ? statuses : undefined;
    }, 30_000);
    expect(stages).toEqual(['Source:Succeeded', 'Build:Succeeded', 'Deploy:Succeeded']);
    expect(readFileSync(join(site(), 'index.html'), 'utf8')).toContain('v1');

    const commit = repo.commit({ 'index.html': '<h1>awscicd demo app — v2</h1>\n' }, 'ship v2');
    const second = await waitFor(async () => {
      const list = await client.send(new ListPipelineExecutionsCommand({ pipelineName: 'awscicd-pipeline' }));
      const latest = list.pipelineExecutionSummaries?.[0];
      return list.pipelineExecutionSummaries?.length === 2 && latest?.status === 'Succeeded' ? latest : undefined;
    }, 30_000);
    expect(second.sourceRevisions?.[0]).toMatchObject({
      actionName: 'Source',
      revisionId: commit,
      revisionSummary: 'ship v2',
    });
    // The seed JSON does not set PollForSourceChanges: created through the API, the action polls.
    expect(second.trigger?.triggerType).toBe('PollForSourceChanges');
    const execution = await client.send(
      new GetPipelineExecutionCommand({
        pipelineName: 'awscicd-pipeline',
        pipelineExecutionId: second.pipelineExecutionId,
      }),
    );
    expect(execution.pipelineExecution?.artifactRevisions?.[0]?.revisionId).toBe(commit);
    expect(readFileSync(join(site(), 'index.html'), 'utf8')).toContain('v2');
    expect(readFileSync(join(site(), 'build.txt'), 'utf8')).toBe(`built v2 (hello) from ${commit}\n`);
  });

  it('answers with AWS error types through the SDK', async () => {
    await expect(client.send(new GetPipelineCommand({ name: 'no-such-pipeline' }))).rejects.toBeInstanceOf(
      PipelineNotFoundException,
    );
    await client.send(new DeletePipelineCommand({ name: 'awscicd-pipeline' }));
    await expect(client.send(new GetPipelineStateCommand({ name: 'awscicd-pipeline' }))).rejects.toBeInstanceOf(
      PipelineNotFoundException,
    );
  });
});
