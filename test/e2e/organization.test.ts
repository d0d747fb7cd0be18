/**
 * One Stagecrew for an organization, end to end on the local cloud (docs/ORGANIZATION.md): the hub runs in account
 * 000000000000 (us-east-1); account 111111111111 holds the pipeline (us-east-1); account 222222222222 holds the test
 * and production stacks (eu-west-1); account 333333333333 has member.yaml deployed too and is on the hub's bus
 * policy (its events reach the hub), but the hub's settings no longer list it.
 *
 * - member.yaml is deployed into each account with the AWS SDK, as a team would, and forwards for real;
 * - the pipeline's Manual approval, found through a forwarded event, is emailed and approved on the page; the hub
 *   decides it in the pipeline's account through the member role, in a session named after the approver;
 * - the pipeline's CloudFormation action (roleArn in the test account, region eu-west-1) creates the test stack
 *   there; the run fails; the hub tears the test stack down in that account and region and leaves the production
 *   stacks (untagged, or tagged for another execution) alone;
 * - the same failure in an account the hub's bus still accepts but its settings no longer list starts nothing: its
 *   tagged stack stays, and no role of that account is ever assumed.
 */
import { readFileSync } from 'node:fs';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { CodePipelineClient, CreatePipelineCommand, GetPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OWNERSHIP_TAGS } from '#core/jobs/ownership';
import { readEventLog } from '#local/services/eventbridge/index';
import { STS_SESSIONS } from '#local/services/sts/index';
import { approvalLink, decideOnPage } from '../helpers/approvals.ts';
import { waitFor } from '../helpers/local-cloud.ts';
import {
  actionType,
  codeCommitSourceStage,
  MARKER_STACK_TEMPLATE,
  manualApprovalStage,
  pipelineDefinition,
  rejectApproval,
  waitForTeardownRun,
  waitForWorkflowEnd,
  waitingApproval,
} from '../helpers/pipelines.ts';
import { type SourcedCloud, startSourcedCloud } from '../helpers/sourced-cloud.ts';
import { ownershipTags } from '../helpers/teardown.ts';

const HUB = '000000000000';
const TOOLING = '111111111111';
const TEST = '222222222222';
const STRANGER = '333333333333';
const EXTERNAL_ID = 'org-e2e-7f3a';
const PIPELINE = 'shop';
const STRANGE_PIPELINE = 'shop-elsewhere';

let cloud: SourcedCloud;

const template = MARKER_STACK_TEMPLATE;

/** SDK client settings signed as an account (a 12-digit key) in a region. */
const as = (account: string, region: string) => ({
  ...cloud.clientConfig,
  region,
  credentials: { accessKeyId: account, secretAccessKey: 'local' },
});

const stackStatus = async (account: string, region: string, name: string) => {
  const cfn = new CloudFormationClient(as(account, region));
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: name }));
    return out.Stacks?.[0]?.StackStatus;
  } catch {
    return undefined;
  } finally {
    cfn.destroy();
  }
};

const stackId = async (account: string, region: string, name: string) => {
  const cfn = new CloudFormationClient(as(account, region));
  const out = await cfn.send(new DescribeStacksCommand({ StackName: name }));
  cfn.destroy();
  return out.Stacks?.[0]?.StackId;
};

const settled = (account: string, region: string, name: string, timeoutMs = 20_000) =>
  waitFor(async () => {
    const status = await stackStatus(account, region, name);
    return status && !status.endsWith('_IN_PROGRESS') ? status : undefined;
  }, timeoutMs);

const deployMember = async (account: string, region: string) => {
  const cfn = new CloudFormationClient(as(account, region));
  await cfn.send(
    new CreateStackCommand({
      StackName: 'stagecrew-member',
      TemplateBody: readFileSync('member.yaml', 'utf8'),
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      Parameters: Object.entries({
        HubAccountId: HUB,
        HubRegion: 'us-east-1',
        ExternalId: EXTERNAL_ID,
        MemberRoleRegion: region,
      }).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
    }),
  );
  cfn.destroy();
  expect(await settled(account, region, 'stagecrew-member')).toBe('CREATE_COMPLETE');
};

const createStack = async (account: string, region: string, name: string, tags: Record<string, string>) => {
  const cfn = new CloudFormationClient(as(account, region));
  await cfn.send(
    new CreateStackCommand({
      StackName: name,
      TemplateBody: template,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  cfn.destroy();
  expect(await settled(account, region, name)).toBe('CREATE_COMPLETE');
};

/** The STS sessions the local cloud issued (global state): who assumed which role, under which name. */
const sessions = () =>
  cloud.cloud.ctx.store
    .list<{ arn: string; roleArn: string; sourceIdentity?: string }>(STS_SESSIONS)
    .map(([, s]) => s)
    .filter((s) => !s.arn.includes(`${HUB}:assumed-role/stagecrew-`));

beforeAll(async () => {
  vi.stubEnv('STAGECREW_CFN_DELAY_MS', '5');
  vi.stubEnv('STAGECREW_SFN_WAIT_SCALE', '0');
  cloud = await startSourcedCloud({
    repository: 'shop-app',
    files: { 'template.yaml': template },
    parameters: {
      TeardownGraceSeconds: 0,
      // The stranger is on the bus policy (its events arrive), and then removed from the settings below.
      MemberAccountIds: `${TOOLING},${TEST},${STRANGER}`,
      MemberRegions: 'us-east-1,eu-west-1',
      MemberExternalId: EXTERNAL_ID,
      EmailRecipients: 'ana@example.com',
      EmailSender: 'stagecrew@example.com',
    },
  });
  // "Removing an account from the settings stops the hub acting there at once" (docs/ORGANIZATION.md): the stranger
  // stays on the bus policy (a deploy would remove it), but the settings no longer list it.
  const ssm = new SSMClient(cloud.clientConfig);
  const Name = cloud.cloud.model.outputs.SettingsParameterName as string;
  const settings = JSON.parse((await ssm.send(new GetParameterCommand({ Name }))).Parameter?.Value ?? '{}');
  expect(settings.organization.accounts).toEqual([TOOLING, TEST, STRANGER]);
  settings.organization.accounts = [TOOLING, TEST];
  await ssm.send(new PutParameterCommand({ Name, Value: JSON.stringify(settings), Overwrite: true }));
  ssm.destroy();
  await deployMember(TOOLING, 'us-east-1');
  await deployMember(TEST, 'eu-west-1');
  await deployMember(STRANGER, 'us-east-1');
}, 120_000);

afterAll(async () => {
  await cloud?.cleanup();
  vi.unstubAllEnvs();
});

describe('one Stagecrew for three accounts and two regions', () => {
  it('approves across accounts, then tears down the failed run in the test account and region only', async () => {
    // Production in the test account: untagged, and tagged for another execution. Neither may be touched.
    await createStack(TEST, 'eu-west-1', 'prod-app', { env: 'prod' });
    await createStack(TEST, 'eu-west-1', 'prod-shared', {
      [OWNERSHIP_TAGS.managed]: 'true',
      [OWNERSHIP_TAGS.pipeline]: PIPELINE,
      [OWNERSHIP_TAGS.executionId]: '00000000-0000-4000-8000-000000000000',
    });

    const tooling = new CodePipelineClient(as(TOOLING, 'us-east-1'));
    await tooling.send(
      new CreatePipelineCommand(
        pipelineDefinition(
          PIPELINE,
          [
            codeCommitSourceStage('shop-app'),
            manualApprovalStage('Approve'),
            {
              name: 'Test',
              actions: [
                {
                  name: 'DeployTest',
                  actionTypeId: actionType('Deploy', 'CloudFormation'),
                  // A cross-account, cross-region action: CodePipeline assumes this role in the test account.
                  roleArn: `arn:aws:iam::${TEST}:role/pipeline-deployer`,
                  region: 'eu-west-1',
                  configuration: {
                    ActionMode: 'CREATE_UPDATE',
                    StackName: 'test-#{codepipeline.PipelineExecutionId}',
                    TemplatePath: 'SourceOutput::template.yaml',
                    RoleArn: `arn:aws:iam::${TEST}:role/cfn-deployer`,
                  },
                  inputArtifacts: [{ name: 'SourceOutput' }],
                },
              ],
            },
            manualApprovalStage('Hold'),
          ],
          { artifactBucket: 'shop-artifacts-tooling' },
        ) as never,
      ),
    );

    // 1. The approval, found through the tooling account's forwarded event, is emailed and approved on the page.
    const link = await approvalLink(cloud, PIPELINE, 'ana@example.com', 60_000);
    const answer = await decideOnPage(link, 'approve', 'ship it to test');
    expect(answer.status).toBe(200);
    const approval = sessions().find((s) => s.arn.includes(':assumed-role/stagecrew-member/stagecrew-approval-email'));
    expect(approval).toMatchObject({
      arn: `arn:aws:sts::${TOOLING}:assumed-role/stagecrew-member/stagecrew-approval-email-ana@example.com`,
      sourceIdentity: 'email-ana@example.com',
    });

    // 2. The CloudFormation action creates the test stack in the test account's eu-west-1; the run waits at Hold.
    const hold = await waitFor(() => waitingApproval(tooling, PIPELINE, 'Hold'), 60_000);
    const testStack = `test-${hold.executionId}`;
    expect(await settled(TEST, 'eu-west-1', testStack)).toBe('CREATE_COMPLETE');
    const testStackId = await stackId(TEST, 'eu-west-1', testStack);
    expect(testStackId).toMatch(new RegExp(`^arn:aws:cloudformation:eu-west-1:${TEST}:stack/${testStack}/`));
    expect(await stackStatus(TOOLING, 'us-east-1', testStack)).toBeUndefined();
    expect(await stackStatus(TEST, 'us-east-1', testStack)).toBeUndefined();
    // The test account's tooling marks it temporary (register-test-stack works in the hub's own account only).
    const cfnTest = new CloudFormationClient(as(TEST, 'eu-west-1'));
    await cfnTest.send(
      new UpdateStackCommand({
        StackName: testStack,
        UsePreviousTemplate: true,
        Tags: ownershipTags(PIPELINE, hold.executionId),
      }),
    );
    cfnTest.destroy();
    expect(await settled(TEST, 'eu-west-1', testStack)).toBe('UPDATE_COMPLETE');

    // 3. The run fails; the hub tears its test stack down where it lives.
    await rejectApproval(tooling, PIPELINE, 'Hold', hold.token, 'failing the run on purpose');
    const sfn = new SFNClient(cloud.clientConfig);
    const run = await waitForTeardownRun(sfn, PIPELINE, hold.executionId, 60_000);
    const done = await waitForWorkflowEnd(sfn, run.executionArn, 60_000);
    sfn.destroy();
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}')).toMatchObject({ status: 'FINISHED', counts: { DELETED: 1 } });
    // A deleted stack answers by its StackId only (by name: "does not exist"), as on AWS.
    expect(await stackStatus(TEST, 'eu-west-1', testStackId ?? '')).toBe('DELETE_COMPLETE');
    expect(await stackStatus(TEST, 'eu-west-1', testStack)).toBeUndefined();
    expect(await stackStatus(TEST, 'eu-west-1', 'prod-app')).toBe('CREATE_COMPLETE');
    expect(await stackStatus(TEST, 'eu-west-1', 'prod-shared')).toBe('CREATE_COMPLETE');
    const execution = await tooling.send(
      new GetPipelineExecutionCommand({ pipelineName: PIPELINE, pipelineExecutionId: hold.executionId }),
    );
    expect(execution.pipelineExecution?.status).toBe('Failed');
    tooling.destroy();

    // The member accounts' CloudTrail would show what Stagecrew did, and as whom.
    const names = sessions().map((s) => s.arn);
    expect(names).toContain(`arn:aws:sts::${TOOLING}:assumed-role/stagecrew-member/stagecrew-teardown`);
    expect(names).toContain(`arn:aws:sts::${TEST}:assumed-role/stagecrew-member/stagecrew-teardown`);
  }, 240_000);

  it('starts nothing for a failed run in an account the hub was not given, and assumes no role there', async () => {
    await createStack(STRANGER, 'us-east-1', 'test-stranger', {
      [OWNERSHIP_TAGS.managed]: 'true',
      [OWNERSHIP_TAGS.pipeline]: STRANGE_PIPELINE,
    });
    const stranger = new CodePipelineClient(as(STRANGER, 'us-east-1'));
    await stranger.send(
      new CreatePipelineCommand(
        pipelineDefinition(STRANGE_PIPELINE, [codeCommitSourceStage('shop-app'), manualApprovalStage('Hold')], {
          artifactBucket: 'shop-artifacts-stranger',
        }) as never,
      ),
    );
    const hold = await waitFor(() => waitingApproval(stranger, STRANGE_PIPELINE, 'Hold'), 60_000);
    await rejectApproval(stranger, STRANGE_PIPELINE, 'Hold', hold.token, 'failing the run on purpose');
    await waitFor(async () => {
      const e = await stranger.send(
        new GetPipelineExecutionCommand({ pipelineName: STRANGE_PIPELINE, pipelineExecutionId: hold.executionId }),
      );
      return e.pipelineExecution?.status === 'Failed';
    }, 30_000);
    stranger.destroy();
    // Its FAILED event reaches the hub (member.yaml forwards it) and meets the hub's rules...
    const failed = await waitFor(
      () =>
        readEventLog(cloud.cloud.ctx.store).find((e) => {
          const d = e.event.detail as { pipeline?: string; state?: string };
          return e.event.account === STRANGER && d.pipeline === STRANGE_PIPELINE && d.state === 'FAILED';
        }),
      30_000,
    );
    expect(failed.matchedRules.length).toBeGreaterThan(0);
    // ...and the hub refuses to act on it: no teardown, no role assumed there, its tagged stack stays.
    const sfn = new SFNClient(cloud.clientConfig);
    await expect(waitForTeardownRun(sfn, STRANGE_PIPELINE, hold.executionId, 5_000)).rejects.toThrow(/timed out/);
    sfn.destroy();
    expect(await stackStatus(STRANGER, 'us-east-1', 'test-stranger')).toBe('CREATE_COMPLETE');
    expect(sessions().filter((s) => s.arn.includes(`::${STRANGER}:`))).toEqual([]);
  }, 120_000);
});
