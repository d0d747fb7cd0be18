/**
 * What AWS calls each function's code can make, read statically from its bundle's source: the SDK commands imported
 * by every Stagecrew module its entry point reaches (relative and `#core/*` imports, static and dynamic), plus the
 * calls libraries make for it. One source of truth for the grant-versus-call test and the IAM simulation.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadTemplate } from '#local/runtime/template';

const ROOT = resolve('.');
const resources = loadTemplate('template.yaml').Resources;

/** Each function's entry point, from its esbuild metadata. */
export const FUNCTION_ENTRIES: Record<string, string> = Object.fromEntries(
  Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Serverless::Function')
    .map(([id, r]) => [
      id,
      ((r.Metadata?.BuildProperties as { EntryPoints: string[] } | undefined)?.EntryPoints[0] ?? '') as string,
    ]),
);

/** Stagecrew source files a function bundle reaches from its entry point (relative and `#core/*` imports). */
export const reachable = (entry: string): string[] => {
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
  'client-lambda': 'lambda',
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
  // Loaded on the first Slack click (`await import('@aws-sdk/client-lambda')`): the asynchronous self-invocation.
  'functions/approval-api/handler.ts': ['lambda:InvokeFunction'],
  // Powertools parameters: settings with GetParameter, secrets with GetSecretValue (read lazily).
  'functions/core/adapters/parameters.ts': ['ssm:GetParameter', 'secretsmanager:GetSecretValue'],
  // Powertools idempotency's DynamoDB persistence layer: claim, read, complete, release a record.
  'functions/core/adapters/idempotency.ts': [
    'dynamodb:PutItem',
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
  ],
};
/** Calls that use the job's own credentials (CodePipeline artifact credentials), not the function's role. */
const JOB_CREDENTIALS = new Set(['functions/core/adapters/artifacts.ts']);

/** The IAM actions of the SDK commands (and known indirect calls) in the modules a function bundle reaches. */
export const codeCalls = (entry: string): Map<string, string[]> => {
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
export const REACHABLE_NOT_CALLED: Record<string, Record<string, string>> = {
  ApprovalApiFunction: {
    'codepipeline:GetPipeline': 'CodePipelineGateway is shared; the API only decides',
    'ssm:GetParameter': 'ParameterStore is shared; the API reads secrets, never the settings document',
    'codepipeline:GetPipelineExecution': 'CodePipelineGateway is shared; the API only decides',
    'codepipeline:ListActionExecutions': 'CodePipelineGateway is shared; the API only decides',
  },
  ApprovalRequestFunction: {
    'codepipeline:PutApprovalResult': 'CodePipelineGateway is shared; requests never decide',
  },
  PipelineEventsFunction: {
    'codepipeline:GetPipeline': 'CodePipelineGateway is shared; pipeline events read executions and actions',
    'codepipeline:GetPipelineState': 'CodePipelineGateway is shared; pipeline events read executions and actions',
    'codepipeline:PutApprovalResult': 'CodePipelineGateway is shared; pipeline events never decide',
    'states:SendTaskFailure': 'StepFunctionsTeardown is shared; only StackEvents resumes tasks',
    'states:SendTaskSuccess': 'StepFunctionsTeardown is shared; only StackEvents resumes tasks',
  },
  StackEventsFunction: {
    'cloudformation:DeleteStack': 'CloudFormationTeardown is shared; stack events only confirm a status (describe)',
    'cloudformation:DescribeStackEvents': 'CloudFormationTeardown is shared; stack events only confirm a status',
    'cloudformation:ListStackResources': 'CloudFormationTeardown is shared; stack events only confirm a status',
    'states:SendTaskFailure': 'StepFunctionsTeardown is shared; stack events only report a status (succeed)',
    'states:StartExecution': 'StepFunctionsTeardown is shared; stack events only resume waiting tasks',
    'states:StopExecution': 'StepFunctionsTeardown is shared; stack events only resume waiting tasks',
  },
  TeardownSweeperFunction: {
    'codepipeline:GetPipeline': 'CodePipelineGateway is shared; the sweeper reads execution status only',
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
    'codepipeline:GetPipeline': 'CodePipelineGateway is shared; teardown reads executions and actions',
    'codepipeline:GetPipelineState': 'CodePipelineGateway is shared; teardown reads executions and actions',
    'codepipeline:PutApprovalResult': 'CodePipelineGateway is shared; teardown never decides approvals',
  },
};

/** The AWS calls a function really makes: what its bundle reaches, less what is reviewed as never called. */
export const actualCalls = (fn: string): string[] =>
  [...codeCalls(FUNCTION_ENTRIES[fn] ?? '').keys()].filter((a) => !(a in (REACHABLE_NOT_CALLED[fn] ?? {}))).sort();
