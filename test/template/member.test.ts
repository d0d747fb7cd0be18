/**
 * The member template (member.yaml) as IAM would evaluate it: every call the hub makes in a member account against
 * the member role's policy, and `sts:AssumeRole` against its trust policy, by the IAM policy simulator built on AWS's
 * Service Authorization Reference (@cloud-copilot/iam-simulate). The local cloud's own trust evaluation
 * (local/services/sts/trust.ts) must reach the same verdicts, so local runs cannot pass on a misreading of IAM.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { Resolver } from '#local/runtime/intrinsics';
import { loadTemplate } from '#local/runtime/template';
import { evaluateTrust } from '#local/services/sts/trust';

const HUB = '111111111111';
const MEMBER = '222222222222';
const OTHER = '333333333333';
const ROLE_ARN = `arn:aws:iam::${MEMBER}:role/stagecrew-member`;
const HUB_ROLE = `arn:aws:iam::${HUB}:role/stagecrew-TeardownTaskFunctionRole-ABC123`;

type Json = Record<string, unknown>;

const member = (overrides: Record<string, string> = {}, region = 'us-east-1') => {
  const template = loadTemplate('member.yaml');
  const parameters: Record<string, unknown> = Object.fromEntries(
    Object.entries(template.Parameters ?? {}).map(([k, p]) => [k, p.Default]),
  );
  Object.assign(parameters, { HubAccountId: HUB, HubRegion: 'us-east-1', ExternalId: 'ext-1234', ...overrides });
  const resolver = new Resolver({
    parameters,
    pseudo: { 'AWS::Region': region, 'AWS::AccountId': MEMBER, 'AWS::Partition': 'aws' },
    refs: { PipelineEventsToHub: 'pipeline-rule', StackEventsToHub: 'stack-rule', ForwardRole: 'forward' },
    attributes: {
      ForwardRole: { Arn: `arn:aws:iam::${MEMBER}:role/forward` },
      MemberRole: { Arn: ROLE_ARN },
    },
    conditions: template.Conditions ?? {},
  });
  const resources = Object.fromEntries(
    Object.entries(template.Resources).filter(([, r]) => r.Condition === undefined || resolver.condition(r.Condition)),
  );
  const role = resources.MemberRole;
  const props = role ? (resolver.resolve(role.Properties) as Json) : undefined;
  return { resources, props };
};

const rolePolicy = () => {
  const { props } = member();
  const policies = (props?.Policies ?? []) as Array<{ PolicyName: string; PolicyDocument: Json }>;
  return policies.map((p) => ({ name: p.PolicyName, policy: p.PolicyDocument }));
};

const simulate = async (
  action: string,
  resource: string,
  context: Record<string, string> = {},
  options: { principal?: string; resourcePolicy?: Json; identity?: Array<{ name: string; policy: Json }> } = {},
) => {
  const response = await runSimulation(
    {
      identityPolicies: options.identity ?? rolePolicy(),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(options.resourcePolicy ? { resourcePolicy: options.resourcePolicy } : {}),
      request: {
        action,
        principal: options.principal ?? `arn:aws:sts::${MEMBER}:assumed-role/stagecrew-member/stagecrew-teardown`,
        resource: { accountId: resource === '*' ? MEMBER : (resource.split(':')[4] ?? MEMBER) || MEMBER, resource },
        contextVariables: context,
      },
    } as Parameters<typeof runSimulation>[0],
    {},
  );
  if (response.resultType === 'error') return `error: ${JSON.stringify(response.errors)}`;
  return response.overallResult;
};

const STACK = `arn:aws:cloudformation:eu-west-1:${MEMBER}:stack/test-pr-42/0c6f3ad0-1a2b-11f0-9d7e-0a1b2c3d4e5f`;
const PIPELINE = `arn:aws:codepipeline:eu-west-1:${MEMBER}:shop`;

describe('member.yaml: what the hub may do in a member account', () => {
  it('creates the member role only in the role region; the forwarding rules everywhere', () => {
    expect(Object.keys(member().resources).sort()).toEqual(
      ['ForwardRole', 'MemberRole', 'PipelineEventsToHub', 'StackEventsToHub'].sort(),
    );
    expect(Object.keys(member({}, 'eu-west-1').resources)).not.toContain('MemberRole');
  });

  it.each([
    ['codepipeline:GetPipeline', PIPELINE],
    ['codepipeline:GetPipelineState', PIPELINE],
    ['codepipeline:GetPipelineExecution', PIPELINE],
    ['codepipeline:ListActionExecutions', PIPELINE],
    ['codepipeline:PutApprovalResult', `${PIPELINE}/Approve/Manual`],
    ['cloudformation:DescribeStacks', STACK],
    ['cloudformation:DescribeStackEvents', STACK],
    ['cloudformation:ListStackResources', STACK],
    ['cloudformation:ListStacks', '*'],
    ['ecr:BatchDeleteImage', `arn:aws:ecr:eu-west-1:${MEMBER}:repository/test-pr-42-images`],
  ])('allows %s', async (action, resource) => {
    expect(await simulate(action, resource)).toBe('Allowed');
  });

  it('deletes a stack only when it carries stagecrew:managed=true (IAM evaluates the tag)', async () => {
    expect(await simulate('cloudformation:DeleteStack', STACK, { 'aws:ResourceTag/stagecrew:managed': 'true' })).toBe(
      'Allowed',
    );
    expect(await simulate('cloudformation:DeleteStack', STACK)).toBe('ImplicitlyDenied');
    expect(await simulate('cloudformation:DeleteStack', STACK, { 'aws:ResourceTag/stagecrew:managed': 'false' })).toBe(
      'ImplicitlyDenied',
    );
  });

  it('empties only buckets of its own account', async () => {
    const object = 'arn:aws:s3:::test-pr-42-artifacts/report.json';
    expect(await simulate('s3:DeleteObjectVersion', object, { 's3:ResourceAccount': MEMBER })).toBe('Allowed');
    expect(await simulate('s3:DeleteObjectVersion', object, { 's3:ResourceAccount': OTHER })).toBe('ImplicitlyDenied');
  });

  it.each([
    ['cloudformation:UpdateStack', STACK],
    ['cloudformation:CreateStack', STACK],
    ['codepipeline:StartPipelineExecution', PIPELINE],
    ['codepipeline:UpdatePipeline', PIPELINE],
    ['iam:PassRole', `arn:aws:iam::${MEMBER}:role/admin`],
    ['s3:PutObject', 'arn:aws:s3:::test-pr-42-artifacts/x'],
  ])('refuses %s', async (action, resource) => {
    expect(await simulate(action, resource)).toBe('ImplicitlyDenied');
  });
});

describe('member.yaml: who may assume the member role', () => {
  const trust = (overrides: Record<string, string> = {}) => member(overrides).props?.AssumeRolePolicyDocument as Json;
  // What the hub's template grants its functions (template.yaml, the MemberAccounts statement).
  const hubIdentity = [
    {
      name: 'assume-member-roles',
      policy: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['sts:AssumeRole', 'sts:SetSourceIdentity'],
            Resource: 'arn:aws:iam::*:role/stagecrew-member',
          },
        ],
      },
    },
  ];

  const cases: Array<[string, string, Record<string, string>, boolean, Record<string, string>?]> = [
    ['a hub role with the external id', HUB_ROLE, { 'sts:ExternalId': 'ext-1234' }, true],
    ['a hub role without the external id', HUB_ROLE, {}, false],
    ['a hub role with a wrong external id', HUB_ROLE, { 'sts:ExternalId': 'guess' }, false],
    [
      'a role of another stack in the hub account',
      `arn:aws:iam::${HUB}:role/someone-else-Function`,
      { 'sts:ExternalId': 'ext-1234' },
      false,
    ],
    [
      'a role named like the hub in another account',
      `arn:aws:iam::${OTHER}:role/stagecrew-TeardownTaskFunctionRole-ABC123`,
      { 'sts:ExternalId': 'ext-1234' },
      false,
    ],
  ];

  /** The request as AWS makes it: the role's session signs; aws:PrincipalArn is the role, as IAM sets it. */
  const asSession = (roleArn: string) => {
    const [, , , , account = '', resource = ''] = roleArn.split(':');
    return {
      principal: `arn:aws:sts::${account}:assumed-role/${resource.slice('role/'.length)}/stagecrew-teardown`,
      context: { 'aws:PrincipalArn': roleArn, 'aws:PrincipalAccount': account },
    };
  };

  it.each(cases)('%s: IAM and the local cloud agree', async (_what, principal, context, allowed) => {
    const session = asSession(principal);
    const verdict = await simulate(
      'sts:AssumeRole',
      ROLE_ARN,
      { ...context, ...session.context },
      { principal: session.principal, resourcePolicy: trust(), identity: hubIdentity },
    );
    expect(verdict).toEqual(allowed ? 'Allowed' : expect.stringMatching(/Denied/));
    const local = evaluateTrust(trust(), {
      principalArn: principal,
      principalAccount: principal.split(':')[4] ?? '',
      ...(context['sts:ExternalId'] ? { externalId: context['sts:ExternalId'] } : {}),
    });
    expect(local).toBe(allowed);
  });

  it('lets an approval session carry the approver as its source identity', async () => {
    const session = asSession(HUB_ROLE);
    const context = { 'sts:ExternalId': 'ext-1234', 'sts:SourceIdentity': 'alice@example.com', ...session.context };
    const verdict = await simulate('sts:SetSourceIdentity', ROLE_ARN, context, {
      principal: session.principal,
      resourcePolicy: trust(),
      identity: hubIdentity,
    });
    expect(verdict).toBe('Allowed');
    expect(
      evaluateTrust(
        trust(),
        { principalArn: HUB_ROLE, principalAccount: HUB, sourceIdentity: 'alice@example.com' },
        'sts:setsourceidentity',
      ),
    ).toBe(true);
  });

  it('with an organization id, denies a hub account outside that organization', async () => {
    const doc = trust({ OrganizationId: 'o-abcdefghij' });
    const session = asSession(HUB_ROLE);
    const inOrg = { 'sts:ExternalId': 'ext-1234', 'aws:PrincipalOrgID': 'o-abcdefghij', ...session.context };
    const outside = { 'sts:ExternalId': 'ext-1234', 'aws:PrincipalOrgID': 'o-zzzzzzzzzz', ...session.context };
    const run = (context: Record<string, string>) =>
      simulate('sts:AssumeRole', ROLE_ARN, context, {
        principal: session.principal,
        resourcePolicy: doc,
        identity: hubIdentity,
      });
    expect(await run(inOrg)).toBe('Allowed');
    expect(await run(outside)).toBe('ExplicitlyDenied');
  });
});
