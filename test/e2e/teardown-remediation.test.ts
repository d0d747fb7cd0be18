/**
 * Teardown survives a non-empty versioned bucket, end to end through the local cloud: a test stack with a
 * versioned S3 bucket holding object versions and a delete marker is registered for an execution that then fails.
 * Stagecrew's teardown deletes it, CloudFormation answers DELETE_FAILED (the bucket is not empty), the teardown
 * task empties the bucket through its S3 client (loaded on first use) and deletes again with a new token: the
 * stack ends DELETE_COMPLETE and the outcome says DELETED with the remediation it took.
 */
import { CloudFormationClient, CreateStackCommand, DescribeStackEventsCommand } from '@aws-sdk/client-cloudformation';
import { CodePipelineClient, CreatePipelineCommand, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, ListObjectVersionsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OWNERSHIP_TAGS } from '#core/jobs/ownership';
import type { MeterSnapshot } from '#local/runtime/meter';
import { waitFor } from '../helpers/local-cloud.ts';
import {
  codeCommitSourceStage,
  manualApprovalStage,
  pipelineDefinition,
  rejectApproval,
  waitForExecutionEnd,
  waitForTeardownRun,
  waitForWorkflowEnd,
  waitingApproval,
} from '../helpers/pipelines.ts';
import { type SourcedCloud, startSourcedCloud } from '../helpers/sourced-cloud.ts';
import { tableItems } from '../helpers/state-table.ts';
import { registerStackForTeardown, waitForStackStatus } from '../helpers/teardown.ts';

const PIPELINE = 'remediation-pipe';
const BUCKET = 'stagecrew-remediation-data';
const template = [
  'Resources:',
  '  Data:',
  '    Type: AWS::S3::Bucket',
  `    Properties: { BucketName: ${BUCKET}, VersioningConfiguration: { Status: Enabled } }`,
  '',
].join('\n');

let cloud: SourcedCloud;

beforeAll(async () => {
  vi.stubEnv('STAGECREW_CFN_DELAY_MS', '5');
  vi.stubEnv('STAGECREW_SFN_WAIT_SCALE', '0');
  cloud = await startSourcedCloud({
    repository: 'remediation-app',
    files: { 'template.yaml': template },
    parameters: { TeardownGraceSeconds: 0 },
  });
});

afterAll(async () => {
  await cloud?.cleanup();
  vi.unstubAllEnvs();
});

describe('teardown remediation through the local cloud', () => {
  it('a stack whose versioned bucket is not empty: DELETE_FAILED, bucket emptied, deleted again, DELETED', async () => {
    const cfn = new CloudFormationClient(cloud.clientConfig);
    const codepipeline = new CodePipelineClient(cloud.clientConfig);
    const sfn = new SFNClient(cloud.clientConfig);
    const s3 = new S3Client(cloud.clientConfig);
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(cloud.clientConfig));
    const table = cloud.cloud.model.outputs.StateTableName as string;
    await codepipeline.send(
      new CreatePipelineCommand(
        pipelineDefinition(PIPELINE, [codeCommitSourceStage('remediation-app'), manualApprovalStage('Hold')], {
          artifactBucket: 'remediation-artifacts',
        }) as never,
      ),
    );
    await codepipeline.send(new StartPipelineExecutionCommand({ name: PIPELINE }));
    const hold = await waitFor(() => waitingApproval(codepipeline, PIPELINE, 'Hold'), 20_000);

    const created = await cfn.send(
      new CreateStackCommand({
        StackName: `test-${hold.executionId}`,
        TemplateBody: template,
        Tags: [
          { Key: OWNERSHIP_TAGS.managed, Value: 'true' },
          { Key: OWNERSHIP_TAGS.pipeline, Value: PIPELINE },
          { Key: OWNERSHIP_TAGS.executionId, Value: hold.executionId },
        ],
      }),
    );
    const stackId = created.StackId as string;
    await waitForStackStatus(cfn, stackId, 'CREATE_COMPLETE', 15_000);
    // Two versions of one key, another object, and a delete marker: what a plain "delete objects" would miss.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'report.json', Body: '{"v":1}' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'report.json', Body: '{"v":2}' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'logs/run.txt', Body: 'ok' }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'logs/run.txt' }));
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET }));
    expect((versions.Versions?.length ?? 0) + (versions.DeleteMarkers?.length ?? 0)).toBe(4);
    await registerStackForTeardown(doc, table, {
      pipeline: PIPELINE,
      executionId: hold.executionId,
      stackId,
      stackName: `test-${hold.executionId}`,
    });

    await fetch(`${cloud.url}/_local/meter`, { method: 'DELETE' });
    await rejectApproval(codepipeline, PIPELINE, 'Hold', hold.token, 'fail the run');
    expect((await waitForExecutionEnd(codepipeline, PIPELINE, hold.executionId, 15_000)).status).toBe('Failed');
    const started = await waitForTeardownRun(sfn, PIPELINE, hold.executionId, 20_000);
    const finished = await waitForWorkflowEnd(sfn, started.executionArn, 45_000);
    expect({ status: finished.status, error: finished.error, cause: finished.cause }).toMatchObject({
      status: 'SUCCEEDED',
    });

    await waitForStackStatus(cfn, stackId, 'DELETE_COMPLETE', 5_000);
    const statuses = ((await cfn.send(new DescribeStackEventsCommand({ StackName: stackId }))).StackEvents ?? [])
      .filter((e) => e.LogicalResourceId === `test-${hold.executionId}`)
      .map((e) => e.ResourceStatus)
      .reverse();
    expect(statuses).toEqual(
      expect.arrayContaining(['DELETE_IN_PROGRESS', 'DELETE_FAILED', 'DELETE_IN_PROGRESS', 'DELETE_COMPLETE']),
    );
    expect(statuses.indexOf('DELETE_FAILED')).toBeLessThan(statuses.lastIndexOf('DELETE_COMPLETE'));

    const [outcome] = await tableItems(doc, table, `TEARDOWN#${PIPELINE}#${hold.executionId}`, 'OUTCOME#');
    expect(outcome).toMatchObject({ stackId, outcome: 'DELETED', remediated: [`emptied s3://${BUCKET} (4 objects)`] });

    // The emptying went through the teardown task's own S3 client, over HTTP: versions listed, then deleted.
    const m = (await (await fetch(`${cloud.url}/_local/meter`)).json()) as MeterSnapshot;
    expect(m.callsByOrigin.http['cloudformation:DeleteStack']).toBe(2);
    expect(Object.keys(m.callsByOrigin.http).some((k) => k.startsWith('s3:POST /stagecrew-remediation-data'))).toBe(
      true,
    );
  });
});
