/**
 * Accounts and regions in the local cloud, as AWS separates them: each access key's account and each signed region
 * has its own stacks and buses; STS issues sessions of roles whose trust policy allows the caller; a rule's target
 * may be a bus in another account and region, and the event arrives there unchanged; a restart loses none of it.
 */

import { readFileSync } from 'node:fs';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutPermissionCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeadLetters, readEventLog } from '#local/services/eventbridge/index';
import { startTestCloud, type TestCloud, waitFor } from '../helpers/local-cloud.ts';

const HUB = '000000000000';
const B = '111111111111';
const C = '222222222222';

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(async () => {
  await t?.stop();
});

const as = (accessKeyId: string, region = 'us-east-1', sessionToken?: string) => ({
  ...t.clientConfig,
  region,
  credentials: { accessKeyId, secretAccessKey: 'local', ...(sessionToken ? { sessionToken } : {}) },
});

const memberRole = (trustedAccount: string, externalId: string) =>
  JSON.stringify({
    Resources: {
      Member: {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: 'stagecrew-member',
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${trustedAccount}:root` },
                Action: 'sts:AssumeRole',
                Condition: {
                  StringEquals: { 'sts:ExternalId': externalId },
                  ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${trustedAccount}:role/stagecrew-*` },
                },
              },
            ],
          },
        },
      },
    },
  });

const stackNames = async (config: ReturnType<typeof as>) => {
  const cfn = new CloudFormationClient(config);
  const out = await cfn.send(new DescribeStacksCommand({}));
  cfn.destroy();
  return (out.Stacks ?? []).map((s) => s.StackName);
};

describe('accounts and regions', () => {
  it('keeps each account and region apart: a stack exists only where it was created', async () => {
    const cfn = new CloudFormationClient(as(C, 'eu-west-1'));
    const { StackId } = await cfn.send(
      new CreateStackCommand({
        StackName: 'apart',
        TemplateBody: JSON.stringify({ Resources: { T: { Type: 'AWS::SNS::Topic' } } }),
      }),
    );
    cfn.destroy();
    expect(StackId).toMatch(new RegExp(`^arn:aws:cloudformation:eu-west-1:${C}:stack/apart/`));
    expect(await stackNames(as(C, 'eu-west-1'))).toContain('apart');
    expect(await stackNames(as(C, 'us-east-1'))).not.toContain('apart');
    expect(await stackNames(as(B, 'eu-west-1'))).not.toContain('apart');
    expect(await stackNames(as('local'))).not.toContain('apart');
  });

  it('answers GetCallerIdentity for an account key, the local key and a function key', async () => {
    const sts = new STSClient(as(B));
    expect(await sts.send(new GetCallerIdentityCommand({}))).toMatchObject({
      Account: B,
      Arn: `arn:aws:iam::${B}:root`,
    });
    sts.destroy();
    const local = new STSClient(as('local'));
    expect((await local.send(new GetCallerIdentityCommand({}))).Account).toBe(HUB);
    local.destroy();
  });

  it('assumes a role only as its trust policy allows, and the session acts in the role account', async () => {
    const cfn = new CloudFormationClient(as(C, 'eu-west-1'));
    await cfn.send(
      new CreateStackCommand({
        StackName: 'member',
        TemplateBody: memberRole(HUB, 'org-secret-1'),
        Capabilities: ['CAPABILITY_NAMED_IAM'],
      }),
    );
    await waitFor(async () => {
      const out = await cfn.send(new DescribeStacksCommand({ StackName: 'member' }));
      return out.Stacks?.[0]?.StackStatus === 'CREATE_COMPLETE';
    }, 15_000);
    cfn.destroy();
    const roleArn = `arn:aws:iam::${C}:role/stagecrew-member`;

    // The hub's teardown function signs as its execution role's session.
    const fn = t.cloud.model.functions.find((f) => f.logicalId === 'TeardownTaskFunction');
    const fnKey = t.cloud.invoker.get(fn?.name ?? '')?.environment.AWS_ACCESS_KEY_ID ?? '';
    const hubSts = new STSClient(as(fnKey));
    expect((await hubSts.send(new GetCallerIdentityCommand({}))).Arn).toBe(
      `arn:aws:sts::${HUB}:assumed-role/stagecrew-TeardownTaskFunctionRole/${fn?.name}`,
    );

    const refused = (input: Partial<ConstructorParameters<typeof AssumeRoleCommand>[0]>, client = hubSts) =>
      client.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'stagecrew-teardown', ...input })).then(
        () => 'allowed',
        (err: Error) => err.name,
      );
    // Without the external id, with a wrong one, from another account, for a role that does not exist: refused.
    expect(await refused({})).toBe('AccessDenied');
    expect(await refused({ ExternalId: 'wrong-id' })).toBe('AccessDenied');
    expect(await refused({ ExternalId: 'org-secret-1' }, new STSClient(as(B)))).toBe('AccessDenied');
    expect(await refused({ ExternalId: 'org-secret-1', RoleArn: `arn:aws:iam::${C}:role/nope` })).toBe('AccessDenied');
    // The hub's account root is not one of its roles: aws:PrincipalArn refuses it.
    expect(await refused({ ExternalId: 'org-secret-1' }, new STSClient(as(HUB)))).toBe('AccessDenied');
    expect(await refused({ ExternalId: 'org-secret-1', RoleSessionName: 'x' })).toBe('ValidationError');
    expect(await refused({ ExternalId: 'org-secret-1', DurationSeconds: 7200 })).toBe('ValidationError');

    const assumed = await hubSts.send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'stagecrew-teardown', ExternalId: 'org-secret-1' }),
    );
    hubSts.destroy();
    expect(assumed.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${C}:assumed-role/stagecrew-member/stagecrew-teardown`);
    expect(assumed.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(assumed.Credentials?.Expiration?.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    const session = as(
      assumed.Credentials?.AccessKeyId ?? '',
      'eu-west-1',
      assumed.Credentials?.SessionToken ?? undefined,
    );
    const whoami = new STSClient(session);
    expect(await whoami.send(new GetCallerIdentityCommand({}))).toMatchObject({
      Account: C,
      Arn: `arn:aws:sts::${C}:assumed-role/stagecrew-member/stagecrew-teardown`,
    });
    whoami.destroy();
    // The session's calls land in the role's account, in the region they are signed for.
    expect(await stackNames(session)).toEqual(expect.arrayContaining(['apart', 'member']));
  });

  it('delivers an event to a bus in another account and region unchanged, only when its policy allows', async () => {
    const forwardFrom = async (account: string) => {
      const member = new EventBridgeClient(as(account, 'eu-west-1'));
      await member.send(
        new PutRuleCommand({ Name: 'to-hub', EventPattern: JSON.stringify({ source: ['test.crossaccount'] }) }),
      );
      await member.send(
        new PutTargetsCommand({
          Rule: 'to-hub',
          Targets: [
            {
              Id: 'hub',
              Arn: `arn:aws:events:us-east-1:${HUB}:event-bus/default`,
              RoleArn: `arn:aws:iam::${account}:role/forward`,
            },
          ],
        }),
      );
      const sent = await member.send(
        new PutEventsCommand({
          Entries: [{ Source: 'test.crossaccount', DetailType: 'Ping', Detail: JSON.stringify({ from: account }) }],
        }),
      );
      member.destroy();
      return sent.Entries?.[0]?.EventId;
    };
    // The hub's bus lets account B put events (as the template's MemberEventsPolicy does for member accounts).
    const hub = new EventBridgeClient(as('local'));
    await hub.send(new PutPermissionCommand({ Action: 'events:PutEvents', Principal: B, StatementId: 'member-b' }));
    expect(JSON.parse((await hub.send(new DescribeEventBusCommand({}))).Policy ?? '{}')).toMatchObject({
      Statement: [{ Sid: 'member-b', Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: 'events:PutEvents' }],
    });
    hub.destroy();

    const id = await forwardFrom(B);
    const arrived = await waitFor(() => readEventLog(t.cloud.ctx.store).find((e) => e.event.id === id));
    expect(arrived.event).toMatchObject({ account: B, region: 'eu-west-1', source: 'test.crossaccount' });
    // Account C has no statement: its rule's delivery is refused by the bus and dead-lettered in C, as on AWS.
    const refused = await forwardFrom(C);
    const dead = await waitFor(() =>
      readDeadLetters(t.cloud.ctx.partition?.(C, 'eu-west-1').store ?? t.cloud.ctx.store).find(
        (d) => d.event.id === refused,
      ),
    );
    expect(dead.reason).toBe('NO_PERMISSIONS');
    expect(dead.lastError).toContain(`Account ${C} is not authorized to put events on event bus`);
    expect(readEventLog(t.cloud.ctx.store).some((e) => e.event.id === refused)).toBe(false);
  });

  it("deploys member.yaml: its rules forward the member region's stack events to the hub, its role admits the hub", async () => {
    const hubBus = new EventBridgeClient(as('local'));
    await hubBus.send(new PutPermissionCommand({ Action: 'events:PutEvents', Principal: B, StatementId: 'member-b' }));
    hubBus.destroy();
    const cfn = new CloudFormationClient(as(B, 'eu-west-1'));
    const parameters = (region: string) =>
      Object.entries({
        HubAccountId: HUB,
        HubRegion: 'us-east-1',
        ExternalId: 'member-b-ext',
        MemberRoleRegion: region,
      }).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue }));
    await cfn.send(
      new CreateStackCommand({
        StackName: 'stagecrew-member',
        TemplateBody: readFileSync('member.yaml', 'utf8'),
        Parameters: parameters('eu-west-1'),
        Capabilities: ['CAPABILITY_NAMED_IAM'],
      }),
    );
    const created = await waitFor(async () => {
      const out = await cfn.send(new DescribeStacksCommand({ StackName: 'stagecrew-member' }));
      const status = out.Stacks?.[0]?.StackStatus ?? '';
      return status.endsWith('_COMPLETE') || status.endsWith('_FAILED') ? out.Stacks?.[0] : undefined;
    }, 20_000);
    expect(created.StackStatus).toBe('CREATE_COMPLETE');
    expect(created.Outputs?.find((o) => o.OutputKey === 'MemberRoleArn')?.OutputValue).toBe(
      `arn:aws:iam::${B}:role/stagecrew-member`,
    );

    // A test stack's status changes in the member region arrive on the hub's bus, with the member's account.
    const { StackId } = await cfn.send(
      new CreateStackCommand({
        StackName: 'test-forwarded',
        TemplateBody: JSON.stringify({ Resources: { T: { Type: 'AWS::SNS::Topic' } } }),
      }),
    );
    cfn.destroy();
    const forwarded = await waitFor(
      () =>
        readEventLog(t.cloud.ctx.store).find(
          (e) =>
            e.event.source === 'aws.cloudformation' &&
            e.event.resources.includes(StackId ?? '') &&
            (e.event.detail as { 'status-details'?: { status?: string } })['status-details']?.status ===
              'CREATE_COMPLETE',
        ),
      20_000,
    );
    expect(forwarded.event).toMatchObject({ account: B, region: 'eu-west-1' });
    // The hub's own rule for stack events matched it (the teardown listener).
    expect(forwarded.matchedRules.length).toBeGreaterThan(0);

    // The role admits the hub's functions with the external id, and nobody else.
    const fn = t.cloud.model.functions.find((f) => f.logicalId === 'TeardownSweeperFunction');
    const hub = new STSClient(as(t.cloud.invoker.get(fn?.name ?? '')?.environment.AWS_ACCESS_KEY_ID ?? ''));
    const assume = (ExternalId: string) =>
      hub
        .send(
          new AssumeRoleCommand({
            RoleArn: `arn:aws:iam::${B}:role/stagecrew-member`,
            RoleSessionName: 'stagecrew-sweep',
            ExternalId,
          }),
        )
        .then(
          (out) => out.AssumedRoleUser?.Arn,
          (err: Error) => err.name,
        );
    expect(await assume('member-b-ext')).toBe(`arn:aws:sts::${B}:assumed-role/stagecrew-member/stagecrew-sweep`);
    expect(await assume('not-the-id')).toBe('AccessDenied');
    hub.destroy();
  });

  it('keeps every account and region across a restart', async () => {
    const stateDir = t.stateDir;
    await t.cloud.stop();
    t = await startTestCloud({ stateDir });
    expect(await stackNames(as(C, 'eu-west-1'))).toEqual(expect.arrayContaining(['apart', 'member']));
    expect(await stackNames(as(C, 'us-east-1'))).not.toContain('apart');
  });
});
