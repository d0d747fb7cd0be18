import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Loose, lambdaAction, makeHarness, pipeline, sourceStage, testProviders } from './harness.ts';

const seed = JSON.parse(readFileSync('test/fixtures/pipelines/seed-three-stage.json', 'utf8')) as {
  pipeline: Record<string, Loose>;
};
const setup = () => makeHarness({ providers: testProviders() });

describe('local CodePipeline API', () => {
  it('accepts the seed tutorial pipeline JSON unchanged and returns it with version and defaults', async () => {
    const h = setup();
    const out = await h.op<{ pipeline: Record<string, Loose> }>('CreatePipeline', structuredClone(seed));
    expect(out.pipeline).toMatchObject({ ...seed.pipeline, version: 1, executionMode: 'SUPERSEDED' });
    const got = await h.op<{ pipeline: Record<string, Loose>; metadata: Record<string, Loose> }>('GetPipeline', {
      name: 'awscicd-pipeline',
    });
    expect(got.metadata.pipelineArn).toBe('arn:aws:codepipeline:us-east-1:123456789012:awscicd-pipeline');
    expect(typeof got.metadata.created).toBe('number');
    expect(got.pipeline.stages[1].actions[0].runOrder).toBe(1);
    // the creation run started (and its unmapped source failed with a clear message)
    const summaries = await h.op<{ pipelineExecutionSummaries: Array<Record<string, Loose>> }>(
      'ListPipelineExecutions',
      { pipelineName: 'awscicd-pipeline' },
    );
    expect(summaries.pipelineExecutionSummaries[0]?.trigger.triggerType).toBe('CreatePipeline');
  });

  it('rejects bad declarations with AWS error codes', async () => {
    const h = setup();
    const bad = (mutate: (p: Record<string, Loose>) => void) => {
      const p = structuredClone(seed.pipeline);
      mutate(p);
      return h.op('CreatePipeline', { pipeline: p });
    };
    await expect(h.op('CreatePipeline', {})).rejects.toMatchObject({ code: 'ValidationException' });
    await expect(
      bad((p) => {
        p.name = 'has space';
      }),
    ).rejects.toMatchObject({ code: 'ValidationException' });
    await expect(
      bad((p) => {
        p.stages = [p.stages[0]];
      }),
    ).rejects.toMatchObject({ code: 'InvalidStructureException' });
    await expect(
      bad((p) => {
        p.stages[1].actions[0].inputArtifacts = [{ name: 'Nope' }];
      }),
    ).rejects.toMatchObject({ code: 'InvalidStructureException' });
    await expect(
      bad((p) => {
        p.stages.reverse();
      }),
    ).rejects.toMatchObject({ code: 'InvalidStructureException' });
    await expect(
      bad((p) => {
        p.stages[2].name = 'Build';
      }),
    ).rejects.toMatchObject({ code: 'InvalidStructureException' });
    await expect(
      bad((p) => {
        p.stages[1].actions[0].actionTypeId.category = 'Bogus';
      }),
    ).rejects.toMatchObject({ code: 'ValidationException' });
    await expect(
      bad((p) => {
        p.executionMode = 'QUEUED';
        p.pipelineType = 'V1';
      }),
    ).rejects.toMatchObject({ code: 'InvalidStructureException' });
    await expect(
      bad((p) => {
        p.stages[1].actions[0].timeoutInMinutes = 10;
      }),
    ).rejects.toMatchObject({ code: 'InvalidStructureException' });
    await h.op('CreatePipeline', structuredClone(seed));
    await expect(h.op('CreatePipeline', structuredClone(seed))).rejects.toMatchObject({
      code: 'PipelineNameInUseException',
    });
  });

  it('warns about conditions it accepts but does not run, and refuses an action type it has no provider for', async () => {
    const h = setup();
    const warnings: string[] = [];
    h.ctx.log.warn = (message: string) => warnings.push(message);
    const p = structuredClone(seed.pipeline);
    p.stages[1].onFailure = { result: 'ROLLBACK' };
    await h.op('CreatePipeline', { pipeline: p });
    expect(warnings).toEqual(['codepipeline: stage onFailure conditions are not evaluated locally']);

    const other = structuredClone(seed.pipeline);
    other.name = 'other';
    other.stages[2].actions[0].actionTypeId = {
      category: 'Deploy',
      owner: 'ThirdParty',
      provider: 'Heroku',
      version: '1',
    };
    await expect(h.op('CreatePipeline', { pipeline: other })).rejects.toMatchObject({
      code: 'InvalidActionDeclarationException',
      message: expect.stringContaining("ActionType (Category: 'Deploy', Provider: 'Heroku', Owner: 'ThirdParty'"),
    });
    await expect(h.op('GetPipeline', { name: 'other' })).rejects.toMatchObject({ code: 'PipelineNotFoundException' });
    // Nor can an update bring one in.
    p.stages[2].actions[0].actionTypeId = { category: 'Deploy', owner: 'Custom', provider: 'Mine', version: '1' };
    await expect(h.op('UpdatePipeline', { pipeline: p })).rejects.toMatchObject({
      code: 'InvalidActionDeclarationException',
    });
  });

  it('updates (version + 1), lists, deletes, and answers 404s', async () => {
    const h = setup();
    await h.op('CreatePipeline', {
      pipeline: pipeline('a', [sourceStage(), { name: 'B', actions: [lambdaAction('L', 'fn')] }]),
    });
    await h.op('CreatePipeline', {
      pipeline: pipeline('b', [sourceStage(), { name: 'B', actions: [lambdaAction('L', 'fn')] }]),
    });
    const updated = await h.op<{ pipeline: { version: number } }>('UpdatePipeline', {
      pipeline: pipeline('a', [sourceStage(), { name: 'C', actions: [lambdaAction('L', 'fn')] }]),
    });
    expect(updated.pipeline.version).toBe(2);
    const list = await h.op<{ pipelines: Array<Record<string, Loose>>; nextToken?: string }>('ListPipelines', {
      maxResults: 1,
    });
    expect(list.pipelines.map((p) => [p.name, p.version])).toEqual([['a', 2]]);
    const next = await h.op<{ pipelines: Array<Record<string, Loose>> }>('ListPipelines', {
      nextToken: list.nextToken,
    });
    expect(next.pipelines.map((p) => p.name)).toEqual(['b']);
    await expect(h.op('GetPipeline', { name: 'zzz' })).rejects.toMatchObject({ code: 'PipelineNotFoundException' });
    await expect(h.op('GetPipeline', { name: 'a', version: 7 })).rejects.toMatchObject({
      code: 'PipelineVersionNotFoundException',
    });
    await expect(
      h.op('UpdatePipeline', {
        pipeline: pipeline('zzz', [sourceStage(), { name: 'B', actions: [lambdaAction('L', 'fn')] }]),
      }),
    ).rejects.toMatchObject({ code: 'PipelineNotFoundException' });
    await expect(
      h.op('GetPipelineExecution', { pipelineName: 'a', pipelineExecutionId: 'nope' }),
    ).rejects.toMatchObject({ code: 'PipelineExecutionNotFoundException' });
    await expect(h.op('GetPipelineState', { name: 'zzz' })).rejects.toMatchObject({
      code: 'PipelineNotFoundException',
    });
    await expect(
      h.op('RetryStageExecution', {
        pipelineName: 'a',
        stageName: 'Nope',
        pipelineExecutionId: 'x',
        retryMode: 'FAILED_ACTIONS',
      }),
    ).rejects.toMatchObject({ code: 'StageNotFoundException' });
    // delete abandons the in-flight execution (its Invoke job no longer accepts results)
    await h.op('DeletePipeline', { name: 'b' });
    await expect(h.op('PutJobSuccessResult', { jobId: h.job(1).id })).rejects.toMatchObject({
      code: 'InvalidJobStateException',
    });
    await expect(h.op('GetPipeline', { name: 'b' })).rejects.toMatchObject({ code: 'PipelineNotFoundException' });
    await h.op('DeletePipeline', { name: 'b' }); // deleting again is not an error, as on AWS
  });

  it('GetPipelineState and the state-change events carry AWS documented fields', async () => {
    const h = setup();
    await h.op('CreatePipeline', {
      pipeline: pipeline('s', [sourceStage(), { name: 'B', actions: [lambdaAction('L', 'fn')] }]),
    });
    const state = await h.op<Record<string, Loose>>('GetPipelineState', { name: 's' });
    expect(state).toMatchObject({ pipelineName: 's', pipelineVersion: 1 });
    expect(state.stageStates[0]).toMatchObject({
      stageName: 'Source',
      inboundTransitionState: { enabled: true },
      latestExecution: { status: 'Succeeded' },
      actionStates: [
        {
          actionName: 'Source',
          currentRevision: { revisionId: 'abc123' },
          latestExecution: { status: 'Succeeded', summary: 'fake commit', externalExecutionId: 'abc123' },
        },
      ],
    });
    const started = h.events.find((e) => e.DetailType === 'CodePipeline Pipeline Execution State Change');
    expect(started?.detail).toMatchObject({
      pipeline: 's',
      state: 'STARTED',
      version: 1,
      'execution-trigger': { 'trigger-type': 'CreatePipeline' },
    });
    expect(started?.detail['execution-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const sourceDone = h.events.find(
      (e) => e.DetailType === 'CodePipeline Action Execution State Change' && e.detail.state === 'SUCCEEDED',
    );
    expect(sourceDone?.detail).toMatchObject({
      stage: 'Source',
      action: 'Source',
      region: 'us-east-1',
      type: { owner: 'AWS', category: 'Source', provider: 'S3', version: '1' },
      'execution-result': { 'external-execution-summary': 'fake commit', 'external-execution-id': 'abc123' },
      'output-artifacts': [{ name: 'SourceOutput', s3location: { bucket: 'artifact-bucket' } }],
    });
    const key = (sourceDone?.detail['output-artifacts'] as Loose)?.[0]?.s3location?.key as string;
    expect(key).toMatch(/^s\/SourceOutp\/\w+$/);
    expect(h.objects.has(`artifact-bucket/${key}`)).toBe(true);
  });
});
