/**
 * IAM least privilege, read from template.yaml: the exact actions each function and the state machine gets (a
 * reviewed allow-list: adding or dropping a permission fails here until the list is updated), no wildcard
 * actions, Resource '*' only where AWS offers no resource-level permission, write actions only on Stagecrew's own
 * table, secret, parameter, state machine and function (each broader scope named with its reason), and every AWS
 * call a function's code can make is granted to that function.
 */
import { describe, expect, it } from 'vitest';
import { loadTemplate } from '#local/runtime/template';
import { codeCalls, FUNCTION_ENTRIES, REACHABLE_NOT_CALLED } from '../helpers/iam-calls.ts';

const template = loadTemplate('template.yaml');
const resources = template.Resources;
const ROLE_OWNERS = Object.entries(resources)
  .filter(([, r]) => r.Type === 'AWS::Serverless::Function' || r.Type === 'AWS::Serverless::StateMachine')
  .map(([id]) => id)
  .sort();

type Grant = { owner: string; sid: string; actions: string[]; resources: unknown[] };

/** The SAM policy templates Stagecrew uses, as SAM expands them (samtranslator policy_templates.json). */
const SAM_TEMPLATES: Record<
  string,
  (p: Record<string, unknown>) => Array<{ actions: string[]; resources: unknown[] }>
> = {
  DynamoDBCrudPolicy: (p) => [
    {
      actions: [
        'dynamodb:GetItem',
        'dynamodb:DeleteItem',
        'dynamodb:PutItem',
        'dynamodb:Scan',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:BatchGetItem',
        'dynamodb:DescribeTable',
        'dynamodb:ConditionCheckItem',
      ],
      resources: [{ table: p.TableName }],
    },
  ],
  SSMParameterReadPolicy: (p) => [
    { actions: ['ssm:DescribeParameters'], resources: ['*'] },
    {
      actions: ['ssm:GetParameters', 'ssm:GetParameter', 'ssm:GetParametersByPath'],
      resources: [{ parameter: p.ParameterName }],
    },
  ],
  AWSSecretsManagerGetSecretValuePolicy: (p) => [
    { actions: ['secretsmanager:GetSecretValue'], resources: [{ secret: p.SecretArn }] },
  ],
  EventBridgePutEventsPolicy: (p) => [{ actions: ['events:PutEvents'], resources: [{ eventBus: p.EventBusName }] }],
  StepFunctionsExecutionPolicy: (p) => [
    { actions: ['states:StartExecution'], resources: [{ stateMachine: p.StateMachineName }] },
  ],
  LambdaInvokePolicy: (p) => [{ actions: ['lambda:InvokeFunction'], resources: [{ function: p.FunctionName }] }],
};

/** Policies attached to a function's SAM-generated role from outside it (`AWS::IAM::Policy` on `<Function>Role`). */
const attached = (owner: string): unknown[] =>
  Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((r) =>
      ((r.Properties?.Roles ?? []) as unknown[]).some((x) => (x as { Ref?: unknown } | null)?.Ref === `${owner}Role`),
    )
    .map((r) => r.Properties?.PolicyDocument);

const grants = (owner: string): Grant[] => {
  const policies = [...((resources[owner]?.Properties?.Policies ?? []) as unknown[]), ...attached(owner)];
  return policies.flatMap((p, i): Grant[] => {
    if (typeof p === 'string') throw new Error(`${owner} attaches the managed policy ${p}; use a scoped statement`);
    let entry = p as Record<string, unknown>;
    // A conditional policy (`!If [Condition, policy, AWS::NoValue]`) is reviewed as if its condition held.
    if (Array.isArray(entry['Fn::If'])) entry = (entry['Fn::If'] as unknown[])[1] as Record<string, unknown>;
    if ('Statement' in entry) {
      return (entry.Statement as Array<Record<string, unknown>>).map((s) => {
        expect(s.Effect, `${owner}/${s.Sid}`).toBe('Allow');
        return { owner, sid: String(s.Sid), actions: [s.Action].flat() as string[], resources: [s.Resource].flat() };
      });
    }
    const [name, params] = Object.entries(entry)[0] as [string, Record<string, unknown>];
    const expand = SAM_TEMPLATES[name];
    if (!expand) throw new Error(`${owner}: SAM policy template ${name} is not reviewed in iam.test.ts`);
    return expand(params).map((g, j) => ({ owner, sid: `${name}#${i}.${j}`, ...g }));
  });
};

const granted = (owner: string) => [...new Set(grants(owner).flatMap((g) => g.actions))].sort();

/**
 * The reviewed allow-list. Changing a function's permissions means changing this list in the same commit.
 * (Not listed: what SAM adds to every function role from Globals — AWSLambdaBasicExecutionRole for logs,
 * AWSXrayWriteOnlyAccess for `Tracing: Active`, sqs:SendMessage on the DeadLetterQueue; asserted below.)
 */
/** The state table: only the item calls each function makes (no Scan, Batch*, DescribeTable, ConditionCheckItem). */
const ITEMS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
const SETTINGS = ['ssm:GetParameter'];
const SECRETS = ['secretsmanager:GetSecretValue'];
const EXPECTED: Record<string, string[]> = {
  ApprovalApiFunction: [
    ...ITEMS,
    'dynamodb:Query',
    ...SECRETS,
    'events:PutEvents',
    'codepipeline:PutApprovalResult',
    // Tells whether an "already completed" answer after a lost response was its own decision.
    'codepipeline:GetPipelineState',
    // Finishes Slack interactions in an asynchronous invocation of itself (ApprovalApiSelfInvoke).
    'lambda:InvokeFunction',
    // Only with member accounts: decides there through the member role, the approver as source identity.
    'sts:AssumeRole',
    'sts:SetSourceIdentity',
  ],
  ApprovalRemindersFunction: [...ITEMS, 'dynamodb:Query', ...SETTINGS, ...SECRETS, 'ses:SendEmail'],
  // Reads only: index queries (timeline, delivery summaries, teardown runs) and the settings.
  DeliveryApiFunction: ['dynamodb:Query', ...SETTINGS],
  ApprovalRequestFunction: [
    ...ITEMS,
    'dynamodb:Query',
    ...SETTINGS,
    ...SECRETS,
    'codepipeline:GetPipeline',
    'codepipeline:GetPipelineExecution',
    'codepipeline:GetPipelineState',
    'codepipeline:ListActionExecutions',
    'ses:SendEmail',
    // Only with member accounts: reads a member pipeline's approval there.
    'sts:AssumeRole',
  ],
  InvokeActionFunction: [
    ...ITEMS,
    'cloudformation:DescribeStacks',
    'cloudformation:UpdateStack',
    'codepipeline:PutJobFailureResult',
    'codepipeline:PutJobSuccessResult',
  ],
  PipelineEventsFunction: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:Query',
    ...SETTINGS,
    ...SECRETS,
    'codepipeline:GetPipelineExecution',
    'codepipeline:ListActionExecutions',
    'ses:SendEmail',
    'states:StartExecution',
    'states:StopExecution',
  ],
  StackEventsFunction: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
    'cloudformation:DescribeStacks',
    'states:SendTaskSuccess',
  ],
  TeardownSweeperFunction: [
    ...SETTINGS,
    'cloudformation:DescribeStacks',
    'cloudformation:ListStacks',
    'codepipeline:GetPipelineExecution',
    'states:StartExecution',
    // Where a member account's execution ran (its timeline record).
    'dynamodb:GetItem',
    // Only with member accounts: sweeps each member account and region through the member role.
    'sts:AssumeRole',
  ],
  TeardownTaskFunction: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
    ...SETTINGS,
    ...SECRETS,
    'cloudformation:DeleteStack',
    'cloudformation:DescribeStackEvents',
    'cloudformation:DescribeStacks',
    'cloudformation:ListStackResources',
    'codepipeline:GetPipelineExecution',
    'codepipeline:ListActionExecutions',
    'ecr:BatchDeleteImage',
    'ecr:ListImages',
    'events:PutEvents',
    // Only with TeardownDeletionRoleArn set, on that role, passed to CloudFormation only.
    'iam:PassRole',
    's3:DeleteObject',
    's3:DeleteObjectVersion',
    's3:ListBucketVersions',
    'ses:SendEmail',
    // Only with member accounts: tears down member stacks through the member role.
    'sts:AssumeRole',
  ],
  TeardownStateMachine: [
    'lambda:InvokeFunction',
    'logs:CreateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:DescribeLogGroups',
    'logs:DescribeResourcePolicies',
    'logs:GetLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:UpdateLogDelivery',
  ],
};

/** Resource '*' where the action has no resource-level permission in IAM; key `owner/sid`. */
const WILDCARD_RESOURCE: Record<string, { actions: string[]; why: string }> = {
  'InvokeActionFunction/ReportJobResults': {
    actions: ['codepipeline:PutJobFailureResult', 'codepipeline:PutJobSuccessResult'],
    why: 'job results have no resource type in IAM',
  },
  'StackEventsFunction/ResumeTeardown': {
    actions: ['states:SendTaskSuccess'],
    why: 'a task token names no resource: SendTaskSuccess has no resource type in IAM',
  },
  'TeardownSweeperFunction/ListStacks': {
    actions: ['cloudformation:DescribeStacks', 'cloudformation:ListStacks'],
    why: "DescribeStacks without a StackName is authorized against '*' and needs ListStacks",
  },
  'TeardownStateMachine/DeliverLogs': {
    actions: EXPECTED.TeardownStateMachine?.filter((a) => a.startsWith('logs:')) ?? [],
    why: 'CloudWatch Logs vended delivery actions support only "*"',
  },
};
for (const owner of ROLE_OWNERS) {
  grants(owner)
    .filter((g) => g.sid.startsWith('SSMParameterReadPolicy#') && g.actions.includes('ssm:DescribeParameters'))
    .forEach((g) => {
      WILDCARD_RESOURCE[`${owner}/${g.sid}`] = {
        actions: ['ssm:DescribeParameters'],
        why: 'added by the SAM template; DescribeParameters has no resource-level permission',
      };
    });
}

/** Own resources of the template a grant may point at (Ref / GetAtt of these, or the SAM template parameter). */
const refTarget = (v: unknown): string | undefined => {
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.Ref === 'string') return o.Ref;
    const att = o['Fn::GetAtt'];
    if (Array.isArray(att)) return String(att[0]);
    if (typeof att === 'string') return att.split('.')[0];
  }
  return undefined;
};
const OWN_BY_KIND: Record<string, string[]> = {
  self: ['ApprovalApiFunction'],
  table: ['StateTable'],
  parameter: ['SettingsParameter'],
  secret: ['Secrets'],
  stateMachine: ['TeardownStateMachine'],
  function: ['TeardownTaskFunction'],
};

/** Broader scopes for write actions, each with the reason it cannot be narrower; key `owner/sid`. */
const BROAD_WRITE_SCOPES: Record<string, string> = {
  'ApprovalApiFunction/EventBridgePutEventsPolicy#1.0':
    "Stagecrew's events go to the account's default bus so users can write rules on them",
  'ApprovalApiFunction/DecideApprovals':
    'approvals of any pipeline in the account; the pipelines are the users’, not part of this stack',
  'ApprovalRemindersFunction/SendReminderEmails': 'the SES sender identity is a setting, not a stack resource',
  'ApprovalRequestFunction/SendApprovalEmails': 'the SES sender identity is a setting, not a stack resource',
  'InvokeActionFunction/ReadAndTagStacks':
    'register-test-stack tags the users’ test stacks (UpdateStack keeps template and parameters)',
  'PipelineEventsFunction/SendNotificationEmails': 'the SES sender identity is a setting, not a stack resource',
  'TeardownTaskFunction/EventBridgePutEventsPolicy#1.0': "Stagecrew's events go to the account's default bus",
  'TeardownTaskFunction/ManageTestStacks':
    'test stacks are the users’; DeleteStack is gated in code by the ownership check on a fresh describe ' +
    '(tags or allow rule), which an IAM tag condition cannot express for allow-rule stacks',
  'TeardownTaskFunction/EmptyOwnedBuckets':
    'buckets of a DELETE_FAILED owned stack; bucket names are unknown at deploy time (see docs/SECURITY.md)',
  'TeardownTaskFunction/DeleteOwnedImages': 'ECR repositories of a DELETE_FAILED owned stack',
  'TeardownTaskFunction/PassDeletionRole':
    'the operator-named deletion role (a parameter), passed only to cloudformation.amazonaws.com',
  'TeardownTaskFunction/SendSummaryEmails': 'the SES sender identity is a setting, not a stack resource',
  // The member role (member.yaml) lives in the member accounts, which the stack does not know at deploy time;
  // only that role name, only when member accounts are configured. The role's trust policy names this hub's roles.
  'ApprovalApiFunction/AssumeMemberRole': 'the member role in any member account (member.yaml trusts this hub)',
  'ApprovalRequestFunction/AssumeMemberRole': 'the member role in any member account (member.yaml trusts this hub)',
  'TeardownSweeperFunction/AssumeMemberRole': 'the member role in any member account (member.yaml trusts this hub)',
  'TeardownTaskFunction/AssumeMemberRole': 'the member role in any member account (member.yaml trusts this hub)',
};

const READ_ONLY = /^[a-z0-9-]+:(Get|Describe|List|Query|Scan|BatchGet|ConditionCheck)/;

describe('IAM least privilege (template.yaml)', () => {
  it('reviews every function and the state machine', () => {
    expect(ROLE_OWNERS).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(ROLE_OWNERS)('%s gets exactly the reviewed actions', (owner) => {
    expect(granted(owner)).toEqual([...new Set(EXPECTED[owner] ?? [])].sort());
  });

  it('grants no wildcard action', () => {
    for (const owner of ROLE_OWNERS) {
      for (const g of grants(owner)) for (const a of g.actions) expect(a, `${owner}/${g.sid}`).not.toContain('*');
    }
  });

  it("uses Resource '*' only for actions without resource-level permissions", () => {
    const seen: string[] = [];
    for (const owner of ROLE_OWNERS) {
      for (const g of grants(owner)) {
        if (!g.resources.includes('*')) continue;
        const key = `${owner}/${g.sid}`;
        seen.push(key);
        expect(Object.keys(WILDCARD_RESOURCE), `unexpected Resource '*' in ${key}`).toContain(key);
        expect([...g.actions].sort()).toEqual([...(WILDCARD_RESOURCE[key]?.actions ?? [])].sort());
      }
    }
    expect(seen.sort()).toEqual(Object.keys(WILDCARD_RESOURCE).sort());
  });

  it("scopes write actions to Stagecrew's own resources, each broader scope reviewed", () => {
    const broad: string[] = [];
    for (const owner of ROLE_OWNERS) {
      for (const g of grants(owner)) {
        const writes = g.actions.filter((a) => !READ_ONLY.test(a));
        if (writes.length === 0) continue;
        const key = `${owner}/${g.sid}`;
        if (WILDCARD_RESOURCE[key]) continue;
        const own = g.resources.every((r) => {
          if (r && typeof r === 'object' && !('Fn::Sub' in r) && !('Ref' in r) && !('Fn::GetAtt' in r)) {
            // A SAM template parameter: { table: Ref }, { eventBus: 'default' }, …
            const [kind, value] = Object.entries(r)[0] as [string, unknown];
            return (OWN_BY_KIND[kind] ?? []).includes(refTarget(value) ?? '');
          }
          const sub = (r as Record<string, unknown> | undefined)?.['Fn::Sub'];
          if (typeof sub === 'string') {
            // An ARN built from one of the template's own resources: `…:execution:${TeardownStateMachine.Name}:*`.
            const names = [...sub.matchAll(/\$\{([A-Za-z0-9]+)[.}]/g)].map((m) => m[1] as string);
            return names.some((n) => resources[n] !== undefined);
          }
          const target = refTarget(r);
          return target !== undefined && resources[target] !== undefined;
        });
        if (!own) broad.push(key);
      }
    }
    expect(broad.sort()).toEqual(Object.keys(BROAD_WRITE_SCOPES).sort());
  });

  it('adds only the SAM defaults to every function role: logs, X-Ray, the own dead-letter queue', () => {
    const globals = template.Globals?.Function ?? {};
    expect(globals.Tracing).toBe('Active');
    expect(globals.DeadLetterQueue).toEqual({ Type: 'SQS', TargetArn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } });
    for (const owner of ROLE_OWNERS) {
      const props = resources[owner]?.Properties ?? {};
      expect(props.Role, `${owner} brings its own role`).toBeUndefined();
      expect(props.PermissionsBoundary, owner).toBeUndefined();
      expect(props.DeadLetterQueue, owner).toBeUndefined();
    }
  });
});

// ---------------------------------------------------------------- code ↔ grants

/** Granted actions the static scan cannot see being called (and why they are still needed). */
const UNCALLED_GRANTS: Record<string, string[]> = {
  // DescribeStacks without a StackName also needs ListStacks (the IAM simulation test holds AWS to it).
  TeardownSweeperFunction: ['cloudformation:ListStacks'],
  // Not an API call: CloudFormation checks it when DeleteStack names a RoleARN (the deletion role).
  TeardownTaskFunction: ['iam:PassRole'],
  // Not an API call: STS checks it when AssumeRole sets a SourceIdentity (the approver of a member decision).
  ApprovalApiFunction: ['sts:SetSourceIdentity'],
};

describe('every AWS call in a function bundle is granted to that function', () => {
  it.each(Object.keys(FUNCTION_ENTRIES).sort())('%s', (fn) => {
    const calls = codeCalls(FUNCTION_ENTRIES[fn] as string);
    const have = new Set(granted(fn));
    const exempt = REACHABLE_NOT_CALLED[fn] ?? {};
    const missing = [...calls.keys()].filter((a) => !have.has(a) && !(a in exempt)).sort();
    expect(
      missing.map((a) => `${a} (${calls.get(a)?.join(', ')})`),
      'called by the code, not granted',
    ).toEqual([]);
    for (const a of Object.keys(exempt)) {
      expect(calls.has(a), `${fn}: ${a} is listed as reachable but is not`).toBe(true);
      expect(have.has(a), `${fn}: ${a} is listed as not called but is granted`).toBe(false);
    }
    // The other direction for the non-DynamoDB grants: a granted action no code calls is an extra permission.
    const unused = [...have]
      .filter((a) => !a.startsWith('dynamodb:') && !a.startsWith('ssm:') && !calls.has(a))
      .filter((a) => !(fn in UNCALLED_GRANTS && UNCALLED_GRANTS[fn]?.includes(a)))
      .sort();
    expect(unused, 'granted, never called').toEqual([]);
  });
});
