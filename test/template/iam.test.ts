/**
 * IAM least privilege, read from template.yaml: the exact actions each function and the state machine gets (a
 * reviewed allow-list: adding or dropping a permission fails here until the list is updated), no wildcard
 * actions, Resource '*' only where AWS offers no resource-level permission, write actions only on Stagecrew's own
 * table, secret, parameter, state machine and function (each broader scope named with its reason), and every AWS
 * call a function's code can make is granted to that function.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTemplate } from '#local/runtime/template';

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

const grants = (owner: string): Grant[] => {
  const policies = (resources[owner]?.Properties?.Policies ?? []) as unknown[];
  return policies.flatMap((p, i): Grant[] => {
    if (typeof p === 'string') throw new Error(`${owner} attaches the managed policy ${p}; use a scoped statement`);
    const entry = p as Record<string, unknown>;
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
const DYNAMO_CRUD = [
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DeleteItem',
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:UpdateItem',
];
const SETTINGS = ['ssm:DescribeParameters', 'ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'];
const SECRETS = ['secretsmanager:GetSecretValue'];
const EXPECTED: Record<string, string[]> = {
  ApprovalApiFunction: [
    ...DYNAMO_CRUD,
    ...SETTINGS,
    ...SECRETS,
    'events:PutEvents',
    'codepipeline:PutApprovalResult',
    // Tells whether an "already completed" answer after a lost response was its own decision.
    'codepipeline:GetPipelineState',
  ],
  ApprovalRemindersFunction: [...DYNAMO_CRUD, ...SETTINGS, ...SECRETS, 'ses:SendEmail'],
  ApprovalRequestFunction: [
    ...DYNAMO_CRUD,
    ...SETTINGS,
    ...SECRETS,
    'codepipeline:GetPipelineExecution',
    'codepipeline:GetPipelineState',
    'codepipeline:ListActionExecutions',
    'ses:SendEmail',
  ],
  InvokeActionFunction: [
    ...DYNAMO_CRUD,
    'cloudformation:DescribeStacks',
    'cloudformation:UpdateStack',
    'codepipeline:PutJobFailureResult',
    'codepipeline:PutJobSuccessResult',
  ],
  PipelineEventsFunction: [
    ...DYNAMO_CRUD,
    ...SETTINGS,
    ...SECRETS,
    'codepipeline:GetPipelineExecution',
    'codepipeline:GetPipelineState',
    'codepipeline:ListActionExecutions',
    'ses:SendEmail',
    'states:StartExecution',
    'states:StopExecution',
  ],
  StackEventsFunction: [
    ...DYNAMO_CRUD,
    'cloudformation:DescribeStacks',
    'states:SendTaskFailure',
    'states:SendTaskSuccess',
  ],
  TeardownSweeperFunction: [
    ...DYNAMO_CRUD,
    ...SETTINGS,
    'cloudformation:DescribeStacks',
    'codepipeline:GetPipelineExecution',
    'states:StartExecution',
  ],
  TeardownTaskFunction: [
    ...DYNAMO_CRUD,
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
    's3:DeleteObject',
    's3:DeleteObjectVersion',
    's3:ListBucketVersions',
    'ses:SendEmail',
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
  table: ['StateTable'],
  parameter: ['SettingsParameter'],
  secret: ['Secrets'],
  stateMachine: ['TeardownStateMachine'],
  function: ['TeardownTaskFunction'],
};

/** Broader scopes for write actions, each with the reason it cannot be narrower; key `owner/sid`. */
const BROAD_WRITE_SCOPES: Record<string, string> = {
  'ApprovalApiFunction/EventBridgePutEventsPolicy#3.0':
    "Stagecrew's events go to the account's default bus so users can write rules on them",
  'ApprovalApiFunction/DecideApprovals':
    'approvals of any pipeline in the account; the pipelines are the users’, not part of this stack',
  'ApprovalRemindersFunction/SendReminderEmails': 'the SES sender identity is a setting, not a stack resource',
  'ApprovalRequestFunction/SendApprovalEmails': 'the SES sender identity is a setting, not a stack resource',
  'InvokeActionFunction/ReadAndTagStacks':
    'register-test-stack tags the users’ test stacks (UpdateStack keeps template and parameters)',
  'PipelineEventsFunction/SendNotificationEmails': 'the SES sender identity is a setting, not a stack resource',
  'TeardownTaskFunction/EventBridgePutEventsPolicy#3.0': "Stagecrew's events go to the account's default bus",
  'TeardownTaskFunction/ManageTestStacks':
    'test stacks are the users’; DeleteStack is gated in code by the ownership check on a fresh describe ' +
    '(tags or allow rule), which an IAM tag condition cannot express for allow-rule stacks',
  'TeardownTaskFunction/EmptyOwnedBuckets':
    'buckets of a DELETE_FAILED owned stack; bucket names are unknown at deploy time (see docs/SECURITY.md)',
  'TeardownTaskFunction/DeleteOwnedImages': 'ECR repositories of a DELETE_FAILED owned stack',
  'TeardownTaskFunction/SendSummaryEmails': 'the SES sender identity is a setting, not a stack resource',
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

const ROOT = resolve('.');
const FUNCTION_DIRS: Record<string, string> = Object.fromEntries(
  Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Serverless::Function')
    .map(([id, r]) => [
      id,
      ((r.Metadata?.BuildProperties as { EntryPoints: string[] } | undefined)?.EntryPoints[0] ?? '') as string,
    ]),
);

/** Stagecrew source files a function bundle reaches from its entry point (relative and `#core/*` imports). */
const reachable = (entry: string): string[] => {
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    // Static imports and re-exports, and dynamic `import('…')` (clients loaded on first use).
    const specs = [
      ...src.matchAll(/(?:import|export)\s+(?!type\s)[^'";]*?from\s+'([^']+)'/g),
      ...src.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
    ];
    for (const m of specs) {
      const spec = m[1] as string;
      if (spec.startsWith('.')) walk(resolve(dirname(file), spec));
      else if (spec.startsWith('#core/')) walk(join(ROOT, 'functions/core', `${spec.slice(6)}.ts`));
    }
  };
  walk(join(ROOT, entry));
  return [...seen];
};

const SERVICE_PREFIX: Record<string, string> = {
  'client-cloudformation': 'cloudformation',
  'client-codepipeline': 'codepipeline',
  'client-dynamodb': 'dynamodb',
  'lib-dynamodb': 'dynamodb',
  'client-ecr': 'ecr',
  'client-eventbridge': 'events',
  'client-s3': 's3',
  'client-sesv2': 'ses',
  'client-sfn': 'states',
  'client-ssm': 'ssm',
  'client-secrets-manager': 'secretsmanager',
};
/** SDK commands whose IAM action is not `<prefix>:<Name>`. */
const ACTION_OF: Record<string, string[]> = {
  'lib-dynamodb:GetCommand': ['dynamodb:GetItem'],
  'lib-dynamodb:PutCommand': ['dynamodb:PutItem'],
  'lib-dynamodb:UpdateCommand': ['dynamodb:UpdateItem'],
  'lib-dynamodb:DeleteCommand': ['dynamodb:DeleteItem'],
  'lib-dynamodb:QueryCommand': ['dynamodb:Query'],
  'lib-dynamodb:ScanCommand': ['dynamodb:Scan'],
  'client-s3:ListObjectVersionsCommand': ['s3:ListBucketVersions'],
  'client-s3:ListObjectsV2Command': ['s3:ListBucket'],
  'client-s3:DeleteObjectsCommand': ['s3:DeleteObject', 's3:DeleteObjectVersion'],
};
/** Calls made through a library rather than an SDK Command import, per Stagecrew module. */
const INDIRECT: Record<string, string[]> = {
  // Powertools parameters: settings with GetParameter, secrets with GetSecretValue (read lazily).
  'functions/core/adapters/parameters.ts': ['ssm:GetParameter', 'secretsmanager:GetSecretValue'],
};
/** Calls that use the job's own credentials (CodePipeline artifact credentials), not the function's role. */
const JOB_CREDENTIALS = new Set(['functions/core/adapters/artifacts.ts']);

/** The IAM actions of the SDK commands (and known indirect calls) in the modules a function bundle reaches. */
const codeCalls = (entry: string): Map<string, string[]> => {
  const calls = new Map<string, string[]>();
  for (const file of reachable(entry)) {
    const rel = file.slice(ROOT.length + 1);
    if (JOB_CREDENTIALS.has(rel)) continue;
    const src = readFileSync(file, 'utf8');
    const add = (action: string) => calls.set(action, [...(calls.get(action) ?? []), rel]);
    for (const a of INDIRECT[rel] ?? []) add(a);
    for (const m of src.matchAll(/import\s+\{([^}]*)\}\s+from\s+'@aws-sdk\/([^']+)'/g)) {
      const pkg = m[2] as string;
      for (const raw of (m[1] as string).split(',')) {
        const name = raw.trim().split(/\s+as\s+/)[0] as string;
        if (name.startsWith('type ') || !/^[A-Z]\w*Command$/.test(name)) continue;
        const key = `${pkg}:${name}`;
        const prefix = SERVICE_PREFIX[pkg];
        if (!prefix) throw new Error(`${rel}: no IAM service prefix reviewed for @aws-sdk/${pkg}`);
        for (const a of ACTION_OF[key] ?? [`${prefix}:${name.replace(/Command$/, '')}`]) add(a);
      }
    }
  }
  return calls;
};

/**
 * Actions a function's bundle can reach (the adapter module is shared) but its code never calls; reviewed per
 * function. Each entry must really be reachable and really not granted, so the list cannot go stale.
 */
const REACHABLE_NOT_CALLED: Record<string, Record<string, string>> = {
  ApprovalApiFunction: {
    'codepipeline:GetPipelineExecution': 'CodePipelineGateway is shared; the API only decides',
    'codepipeline:ListActionExecutions': 'CodePipelineGateway is shared; the API only decides',
  },
  ApprovalRequestFunction: {
    'codepipeline:PutApprovalResult': 'CodePipelineGateway is shared; requests never decide',
  },
  PipelineEventsFunction: {
    'codepipeline:PutApprovalResult': 'CodePipelineGateway is shared; pipeline events never decide',
    'states:SendTaskFailure': 'StepFunctionsTeardown is shared; only StackEvents resumes tasks',
    'states:SendTaskSuccess': 'StepFunctionsTeardown is shared; only StackEvents resumes tasks',
  },
  StackEventsFunction: {
    'cloudformation:DeleteStack': 'CloudFormationTeardown is shared; stack events only confirm a status (describe)',
    'cloudformation:DescribeStackEvents': 'CloudFormationTeardown is shared; stack events only confirm a status',
    'cloudformation:ListStackResources': 'CloudFormationTeardown is shared; stack events only confirm a status',
    'states:StartExecution': 'StepFunctionsTeardown is shared; stack events only resume waiting tasks',
    'states:StopExecution': 'StepFunctionsTeardown is shared; stack events only resume waiting tasks',
  },
  TeardownSweeperFunction: {
    'secretsmanager:GetSecretValue': 'ParameterStore is shared; the sweeper reads settings, never secrets',
    'cloudformation:DeleteStack': 'CloudFormationTeardown is shared; the sweeper only lists (listAll)',
    'cloudformation:DescribeStackEvents': 'CloudFormationTeardown is shared; the sweeper only lists (listAll)',
    'cloudformation:ListStackResources': 'CloudFormationTeardown is shared; the sweeper only lists (listAll)',
    'codepipeline:GetPipelineState': 'CodePipelineGateway is shared; the sweeper reads execution status only',
    'codepipeline:ListActionExecutions': 'CodePipelineGateway is shared; the sweeper reads execution status only',
    'codepipeline:PutApprovalResult': 'CodePipelineGateway is shared; the sweeper reads execution status only',
    'states:SendTaskFailure': 'StepFunctionsTeardown is shared; the sweeper only starts executions',
    'states:SendTaskSuccess': 'StepFunctionsTeardown is shared; the sweeper only starts executions',
    'states:StopExecution': 'StepFunctionsTeardown is shared; the sweeper only starts executions',
  },
  TeardownTaskFunction: {
    'codepipeline:GetPipelineState': 'CodePipelineGateway is shared; teardown reads executions and actions',
    'codepipeline:PutApprovalResult': 'CodePipelineGateway is shared; teardown never decides approvals',
  },
};

/** Granted actions the static scan cannot see being called (and why they are still needed). */
const UNCALLED_GRANTS: Record<string, string[]> = {};

describe('every AWS call in a function bundle is granted to that function', () => {
  it.each(Object.keys(FUNCTION_DIRS).sort())('%s', (fn) => {
    const calls = codeCalls(FUNCTION_DIRS[fn] as string);
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
