/**
 * Local CodePipeline API conformance through the AWS SDK (CodePipeline API reference): pipeline tags, and an action
 * type the local cloud cannot run refused when the pipeline is declared, as AWS refuses one that is not available.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CodePipelineClient,
  CreatePipelineCommand,
  GetPipelineCommand,
  GetPipelineExecutionCommand,
  ListPipelineExecutionsCommand,
  ListTagsForResourceCommand,
  type PipelineDeclaration,
  TagResourceCommand,
  UntagResourceCommand,
  UpdatePipelineCommand,
} from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud, waitFor } from '../helpers/local-cloud.ts';

let t: TestCloud;
let cp: CodePipelineClient;
const seed = JSON.parse(readFileSync('test/fixtures/pipelines/seed-three-stage.json', 'utf8')) as {
  pipeline: PipelineDeclaration;
};

const savedDeployDir = process.env.STAGECREW_DEPLOY_DIR;
beforeAll(async () => {
  // Local deploy targets (the S3 deploy action) write under the state directory, not into the working tree.
  t = await startTestCloud();
  process.env.STAGECREW_DEPLOY_DIR = join(t.stateDir, 'deploy');
  cp = new CodePipelineClient(t.clientConfig);
});
afterAll(async () => {
  cp?.destroy();
  await t?.stop();
  if (savedDeployDir === undefined) delete process.env.STAGECREW_DEPLOY_DIR;
  else process.env.STAGECREW_DEPLOY_DIR = savedDeployDir;
});

describe('local CodePipeline API', () => {
  it('tags a pipeline, lists and removes its tags', async () => {
    const pipeline = { ...structuredClone(seed.pipeline), name: 'cp-tags' };
    await cp.send(new CreatePipelineCommand({ pipeline, tags: [{ key: 'team', value: 'payments' }] }));
    const { metadata } = await cp.send(new GetPipelineCommand({ name: 'cp-tags' }));
    const resourceArn = metadata?.pipelineArn as string;
    await cp.send(
      new TagResourceCommand({
        resourceArn,
        tags: [
          { key: 'env', value: 'test' },
          { key: 'team', value: 'core' },
        ],
      }),
    );
    expect((await cp.send(new ListTagsForResourceCommand({ resourceArn }))).tags).toEqual([
      { key: 'team', value: 'core' },
      { key: 'env', value: 'test' },
    ]);
    await cp.send(new UntagResourceCommand({ resourceArn, tagKeys: ['team'] }));
    expect((await cp.send(new ListTagsForResourceCommand({ resourceArn }))).tags).toEqual([
      { key: 'env', value: 'test' },
    ]);
    await expect(
      cp.send(new ListTagsForResourceCommand({ resourceArn: resourceArn.replace('cp-tags', 'cp-none') })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(cp.send(new ListTagsForResourceCommand({ resourceArn: 'not-an-arn' }))).rejects.toMatchObject({
      name: 'InvalidArnException',
    });
  });

  it('refuses an action type it has no provider for when the pipeline is created or updated', async () => {
    const pipeline = { ...structuredClone(seed.pipeline), name: 'cp-provider' };
    const deploy = pipeline.stages?.[2]?.actions?.[0];
    if (!deploy) throw new Error('seed changed');
    deploy.actionTypeId = { category: 'Deploy', owner: 'Custom', provider: 'InHouseDeployer', version: '1' };
    await expect(cp.send(new CreatePipelineCommand({ pipeline }))).rejects.toMatchObject({
      name: 'InvalidActionDeclarationException',
    });
    const valid = { ...structuredClone(seed.pipeline), name: 'cp-provider' };
    await cp.send(new CreatePipelineCommand({ pipeline: valid }));
    await expect(cp.send(new UpdatePipelineCommand({ pipeline }))).rejects.toMatchObject({
      name: 'InvalidActionDeclarationException',
    });
  });

  it('reads an S3 source from the local S3 when the bucket is there: the object is the artifact, its version the revision', async () => {
    const s3 = new S3Client(t.clientConfig);
    await s3.send(new CreateBucketCommand({ Bucket: 'cp-source-bucket' }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: 'cp-source-bucket', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'cp-source-bucket',
        Key: 'app/source.zip',
        Body: zipSync({ 'index.html': new TextEncoder().encode('<h1>from s3</h1>') }),
      }),
    );
    s3.destroy();
    await cp.send(
      new CreatePipelineCommand({
        pipeline: {
          name: 'cp-s3-source',
          roleArn: 'arn:aws:iam::111122223333:role/pipeline',
          artifactStore: { type: 'S3', location: 'cp-artifacts' },
          pipelineType: 'V2',
          stages: [
            {
              name: 'Source',
              actions: [
                {
                  name: 'Source',
                  actionTypeId: { category: 'Source', owner: 'AWS', provider: 'S3', version: '1' },
                  configuration: {
                    S3Bucket: 'cp-source-bucket',
                    S3ObjectKey: 'app/source.zip',
                    PollForSourceChanges: 'false',
                  },
                  outputArtifacts: [{ name: 'SourceOutput' }],
                },
              ],
            },
            {
              name: 'Deploy',
              actions: [
                {
                  name: 'Site',
                  actionTypeId: { category: 'Deploy', owner: 'AWS', provider: 'S3', version: '1' },
                  configuration: { BucketName: 'cp-site', Extract: 'true' },
                  inputArtifacts: [{ name: 'SourceOutput' }],
                },
              ],
            },
          ],
        },
      }),
    );
    const summary = await waitFor(async () => {
      const list = await cp.send(new ListPipelineExecutionsCommand({ pipelineName: 'cp-s3-source' }));
      const s = list.pipelineExecutionSummaries?.[0];
      return s && s.status !== 'InProgress' ? s : undefined;
    }, 20_000);
    expect(summary.status).toBe('Succeeded');
    const execution = await cp.send(
      new GetPipelineExecutionCommand({
        pipelineName: 'cp-s3-source',
        pipelineExecutionId: summary.pipelineExecutionId,
      }),
    );
    expect(execution.pipelineExecution?.artifactRevisions?.[0]).toMatchObject({
      name: 'SourceOutput',
      revisionId: put.VersionId,
    });
  });
});
