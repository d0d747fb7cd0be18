/**
 * What AWS calls each function's code can make, read statically from its bundle's source: the SDK commands imported
 * by every Stagecrew module that ends up in its bundle (static and dynamic imports, after tree shaking), plus the
 * calls libraries make for it. One source of truth for the grant-versus-call test and the IAM simulation.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
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

/**
 * Stagecrew source files whose code ends up in a function's bundle: esbuild bundles the entry point as `sam build`
 * does (ES modules, tree shaking; dynamically imported modules are inlined) and its metafile says which files kept
 * any bytes. A file the function reaches only through an unused export of a shared module (the wiring module, say)
 * does not count. Cached per entry point.
 */
const bundled = new Map<string, string[]>();
export const reachable = (entry: string): string[] => {
  const cached = bundled.get(entry);
  if (cached) return cached;
  const result = buildSync({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs)[0];
  const text = result.outputFiles[0]?.text ?? '';
  // esbuild marks each piece of a file's code with a `// path` comment (a file can appear in several pieces). A file
  // whose own code was dropped can still leave the calls that initialize its lazily evaluated imports
  // (`init_errors();`): that is not code of its own.
  const ownCode = (path: string): boolean => {
    const marker = `\n// ${path}\n`;
    for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + 1)) {
      const rest = text.slice(at + marker.length);
      const end = rest.search(/\n\/\/ [\w@./-]+\n/);
      const body = (end < 0 ? rest : rest.slice(0, end)).split('\n').filter((l) => l.trim() !== '');
      if (!body.every((l) => /^\s*init_\w+\(\);$/.test(l))) return true;
    }
    return !text.includes(marker);
  };
  const files = Object.entries(output?.inputs ?? {})
    .filter(([path, input]) => input.bytesInOutput > 0 && !path.includes('node_modules/') && ownCode(path))
    .map(([path]) => resolve(ROOT, path));
  bundled.set(entry, files);
  return files;
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
  'client-sts': 'sts',
};
/** SDK commands whose IAM action is not `<prefix>:<Name>`. */
const ACTION_OF: Record<string, string[]> = {
  'lib-dynamodb:GetCommand': ['dynamodb:GetItem'],
  'lib-dynamodb:PutCommand': ['dynamodb:PutItem'],
  'lib-dynamodb:UpdateCommand': ['dynamodb:UpdateItem'],
  'lib-dynamodb:DeleteCommand': ['dynamodb:DeleteItem'],
  'lib-dynamodb:QueryCommand': ['dynamodb:Query'],
  'lib-dynamodb:ScanCommand': ['dynamodb:Scan'],
  'client-lambda:InvokeCommand': ['lambda:InvokeFunction'],
  'client-s3:ListObjectVersionsCommand': ['s3:ListBucketVersions'],
  'client-s3:ListObjectsV2Command': ['s3:ListBucket'],
  'client-s3:DeleteObjectsCommand': ['s3:DeleteObject', 's3:DeleteObjectVersion'],
};
/** Calls made through a library rather than an SDK Command import, per Stagecrew module. */
const INDIRECT: Record<string, string[]> = {
  // Powertools parameters: settings with GetParameter, secrets with GetSecretValue (read lazily).
  'functions/core/adapters/settings-store.ts': ['ssm:GetParameter'],
  'functions/core/adapters/secrets-store.ts': ['secretsmanager:GetSecretValue'],
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

/**
 * Whether a function's code queries the table itself (a key condition on `pk`), not only the gsi1 index: IAM
 * authorizes a Query against the table's ARN or the index's ARN, whichever the request names.
 */
export const queriesTable = (fn: string): boolean =>
  reachable(FUNCTION_ENTRIES[fn] ?? '').some((file) =>
    /KeyConditionExpression:[^,]*'pk = /.test(readFileSync(file, 'utf8')),
  );
