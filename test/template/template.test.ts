import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadTemplate, type Resource } from '#local/runtime/template';

const template = loadTemplate('template.yaml');
const resources = Object.entries(template.Resources);
const functions = resources.filter(([, r]) => r.Type === 'AWS::Serverless::Function');

type Statement = { Sid?: string; Effect?: string; Action?: string | string[]; Resource?: unknown };

/** Inline IAM statements of every function and state machine (SAM `Policies` entries with `Statement`). */
const statements = (): Array<{ owner: string; statement: Statement }> =>
  resources.flatMap(([id, r]) => {
    const policies = (r.Properties?.Policies ?? []) as unknown[];
    return (Array.isArray(policies) ? policies : [policies]).flatMap((p) =>
      p !== null && typeof p === 'object' && 'Statement' in p
        ? ((p as { Statement: Statement[] }).Statement ?? []).map((statement) => ({ owner: id, statement }))
        : [],
    );
  });

// Where AWS supports no resource-level permissions, '*' is the only possible Resource.
// Each exception is named here: owner, Sid and the actions it covers.
const WILDCARD_RESOURCE_EXCEPTIONS: Record<string, string[]> = {
  'InvokeActionFunction/ReportJobResults': ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
  // Task tokens name no resource: SendTaskSuccess has no resource type in the Service Authorization Reference.
  'StackEventsFunction/ResumeTeardown': ['states:SendTaskSuccess'],
  // DescribeStacks without a StackName is authorized against '*' and needs ListStacks.
  'TeardownSweeperFunction/ListStacks': ['cloudformation:DescribeStacks', 'cloudformation:ListStacks'],
  'TeardownStateMachine/DeliverLogs': [
    'logs:CreateLogDelivery',
    'logs:GetLogDelivery',
    'logs:UpdateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'logs:DescribeLogGroups',
  ],
};

describe('template.yaml', () => {
  it('sets the house Globals: nodejs24.x on arm64, active tracing, Powertools environment', () => {
    const globals = template.Globals?.Function ?? {};
    expect(globals.Runtime).toBe('nodejs24.x');
    expect(globals.Architectures).toEqual(['arm64']);
    expect(globals.Tracing).toBe('Active');
    const variables = (globals.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'stagecrew' });
    expect(variables).toHaveProperty('POWERTOOLS_LOG_LEVEL');
  });

  it('has functions', () => {
    expect(functions.length).toBeGreaterThanOrEqual(5);
  });

  it.each(functions)('%s is an esbuild ESM bundle for node24 with an existing entry point', (_id, fn: Resource) => {
    expect(fn.Metadata?.BuildMethod).toBe('esbuild');
    const props = fn.Metadata?.BuildProperties as Record<string, unknown>;
    expect(props).toMatchObject({ Format: 'esm', Target: 'node24', Minify: true, Sourcemap: true });
    expect(props.OutExtension).toEqual(['.js=.mjs']);
    const entries = props.EntryPoints as string[];
    expect(entries).toHaveLength(1);
    expect(existsSync(entries[0] as string)).toBe(true);
    // Handler names the same file, so `sam build` (which rewrites it) and the local cloud agree.
    const handler = fn.Properties?.Handler as string;
    expect(`${handler.slice(0, handler.lastIndexOf('.'))}.ts`).toBe(entries[0]);
  });

  it.each(functions)('%s logs to its own log group with a retention', (id, fn: Resource) => {
    const logGroupRef = (fn.Properties?.LoggingConfig as { LogGroup?: { Ref: string } } | undefined)?.LogGroup?.Ref;
    expect(logGroupRef, `${id} LoggingConfig.LogGroup`).toBeDefined();
    const logGroup = template.Resources[logGroupRef as string];
    expect(logGroup?.Type).toBe('AWS::Logs::LogGroup');
    expect(logGroup?.Properties?.RetentionInDays).toBeDefined();
  });

  it('hard-codes no physical names', () => {
    const nameKeys = [
      'FunctionName',
      'TableName',
      'TopicName',
      'QueueName',
      'StateMachineName',
      'LogGroupName',
      'Name',
    ];
    for (const [id, r] of resources) {
      for (const key of nameKeys) {
        const value = r.Properties?.[key];
        expect(typeof value === 'string', `${id}.${key} is a literal name`).toBe(false);
      }
    }
  });

  it("grants no Action '*' anywhere", () => {
    for (const { owner, statement } of statements()) {
      const actions = [statement.Action ?? []].flat();
      expect(actions, `${owner}/${statement.Sid}`).not.toContain('*');
      for (const action of actions) expect(action, `${owner}/${statement.Sid}`).not.toMatch(/^[a-z0-9-]+:\*$/);
    }
  });

  it("grants Resource '*' only where AWS requires it, each exception named", () => {
    const seen: string[] = [];
    for (const { owner, statement } of statements()) {
      const resourcesOf = [statement.Resource ?? []].flat();
      if (!resourcesOf.includes('*')) continue;
      const key = `${owner}/${statement.Sid}`;
      seen.push(key);
      expect(Object.keys(WILDCARD_RESOURCE_EXCEPTIONS), `unexpected Resource '*' in ${key}`).toContain(key);
      expect([statement.Action].flat().sort()).toEqual([...(WILDCARD_RESOURCE_EXCEPTIONS[key] ?? [])].sort());
    }
    expect(seen.sort()).toEqual(Object.keys(WILDCARD_RESOURCE_EXCEPTIONS).sort());
  });

  it('keeps the state table durable: on-demand, point-in-time recovery, TTL', () => {
    const table = resources.find(([, r]) => r.Type === 'AWS::DynamoDB::Table')?.[1];
    expect(table?.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });

  it('suppresses checkov findings only with a written reason', () => {
    for (const [id, r] of resources) {
      const skips = ((r.Metadata?.checkov as { skip?: Array<{ id: string; comment?: string }> })?.skip ?? []) as Array<{
        id: string;
        comment?: string;
      }>;
      for (const skip of skips) expect(skip.comment?.length ?? 0, `${id} ${skip.id}`).toBeGreaterThan(30);
    }
  });

  it('exports the approval topic and the Invoke action function for pipelines to use', () => {
    expect(template.Outputs?.ApprovalTopicArn?.Export).toBeDefined();
    expect(template.Outputs?.InvokeActionFunctionName?.Export).toBeDefined();
  });
});

describe('delivery dashboard and alarm', () => {
  const dashboard = template.Resources.DeliveryDashboard?.Properties?.DashboardBody as { 'Fn::Sub': [string, unknown] };
  // Every `${…}` the body names, filled with a stand-in of the right kind: the rest must be JSON.
  const body = JSON.parse(
    dashboard['Fn::Sub'][0].replace(/\$\{([^}]+)\}/g, (_m, name: string) =>
      name === 'LeadTimeAlarmHours' ? '48' : `stand-in-${name.replace(/\W/g, '-')}`,
    ),
  ) as { widgets: Array<{ type: string; properties: Record<string, unknown> }> };

  /** The metric names the code publishes (functions/core/delivery/signals.ts and the teardown task). */
  const PUBLISHED = new Set([
    'Deployments',
    'LeadTime',
    'Failures',
    'ChangeFailures',
    'TimeToRestore',
    'ApprovalWait',
    'TeardownStacks',
  ]);

  it('is valid JSON once substituted, and every widget reads a metric the functions publish', () => {
    const text = JSON.stringify(body.widgets);
    const names = [...text.matchAll(/MetricName=\\"(\w+)\\"|"Stagecrew","(\w+)"/g)].map((m) => m[1] ?? m[2]);
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) expect(PUBLISHED, String(name)).toContain(name);
    // The per-pipeline searches name every dimension the points carry (service, pipeline, stage).
    for (const m of text.matchAll(/SEARCH\('\{Stagecrew,([^}]+)\}/g)) {
      expect(['outcome,service', 'pipeline,service,stage']).toContain(m[1]);
    }
  });

  it('alarms on the service-wide lead time, converted to hours by metric math', () => {
    const alarm = template.Resources.LeadTimeAlarm?.Properties as {
      Metrics: Array<{
        Id: string;
        Expression?: string;
        MetricStat?: { Metric: { MetricName: string; Dimensions: unknown } };
      }>;
    };
    const stat = alarm.Metrics.find((m) => m.MetricStat)?.MetricStat;
    expect(stat?.Metric).toMatchObject({
      MetricName: 'LeadTime',
      Dimensions: [{ Name: 'service', Value: 'stagecrew' }],
    });
    expect(alarm.Metrics.find((m) => m.Expression)?.Expression).toBe('leadTime / 3600000');
  });
});
