import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NO_VALUE, Resolver, TemplateError } from '#local/runtime/intrinsics';
import { loadTemplate, parseTemplate } from '#local/runtime/template';
import { buildModel } from '#local/runtime/wiring';
import { secretArn } from '#local/services/secretsmanager/index';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const TEMPLATE = join(ROOT, 'template.yaml');
const base = { templatePath: TEMPLATE, baseUrl: 'http://127.0.0.1:4566' };

const resolver = () =>
  new Resolver({
    parameters: { Env: 'dev', List: 'a,b', Empty: '' },
    pseudo: { 'AWS::Region': 'us-east-1', 'AWS::AccountId': '000000000000' },
    refs: { Topic: 'arn:aws:sns:us-east-1:000000000000:t' },
    attributes: { Fn: { Arn: 'arn:fn' } },
    conditions: {
      IsDev: { 'Fn::Equals': [{ Ref: 'Env' }, 'dev'] },
      HasEmpty: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'Empty' }, ''] }] },
    },
  });

// biome-ignore-start lint/suspicious/noTemplateCurlyInString: Fn::Sub strings are CloudFormation's, not JavaScript's.
describe('intrinsics', () => {
  it('resolves Ref, GetAtt, Sub (both forms), Join, Split, Select, If and conditions', () => {
    const r = resolver();
    expect(r.resolve({ Ref: 'AWS::Region' })).toBe('us-east-1');
    expect(r.resolve({ 'Fn::GetAtt': ['Fn', 'Arn'] })).toBe('arn:fn');
    expect(r.resolve({ 'Fn::Sub': '${Env}-${Fn.Arn}-${!Literal}' })).toBe('dev-arn:fn-${Literal}');
    expect(r.resolve({ 'Fn::Sub': ['${X}/${Env}', { X: { Ref: 'Topic' } }] })).toBe(
      'arn:aws:sns:us-east-1:000000000000:t/dev',
    );
    expect(r.resolve({ 'Fn::Join': ['","', { 'Fn::Split': [',', { Ref: 'List' }] }] })).toBe('a","b');
    expect(r.resolve({ 'Fn::Select': [1, ['x', 'y']] })).toBe('y');
    expect(r.resolve({ 'Fn::If': ['IsDev', 'yes', 'no'] })).toBe('yes');
    expect(r.resolve({ 'Fn::If': ['HasEmpty', 'yes', 'no'] })).toBe('no');
    expect(r.resolve({ a: { 'Fn::If': ['HasEmpty', 1, { Ref: 'AWS::NoValue' }] }, b: 2 })).toEqual({ b: 2 });
    expect(r.ref('AWS::NoValue')).toBe(NO_VALUE);
  });

  it('fails clearly on unknown references and unsupported functions', () => {
    const r = resolver();
    expect(() => r.resolve({ Ref: 'Nope' })).toThrow(TemplateError);
    expect(() => r.resolve({ 'Fn::GetAtt': ['Fn', 'Nope'] })).toThrow(/GetAtt Fn.Nope/);
    expect(() => r.resolve({ 'Fn::Select': [5, ['x']] })).toThrow(/out of range/);
    expect(() => r.resolve({ 'Fn::Cidr': ['10.0.0.0/16', 1, 8] })).toThrow(/not supported/);
    expect(() => r.resolve({ 'Fn::ImportValue': 'x' })).toThrow(/no export/);
  });
});

// biome-ignore-end lint/suspicious/noTemplateCurlyInString: end of the Fn::Sub tests
describe('wiring from template.yaml', () => {
  const model = buildModel(loadTemplate(TEMPLATE), base);
  const template = loadTemplate(TEMPLATE);

  it('maps every function with its handler module, timeout and local environment', () => {
    const serverless = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function');
    expect(model.functions.map((f) => f.logicalId)).toEqual(serverless.map(([id]) => id));
    for (const fn of model.functions) {
      const props = template.Resources[fn.logicalId]?.Properties as Record<string, unknown>;
      expect(fn.name).toBe(`stagecrew-${fn.logicalId}`);
      expect(fn.modulePath).toBe(join(ROOT, `${String(props.Handler).replace(/\.handler$/, '')}.ts`));
      expect(fn.timeoutSeconds).toBe(props.Timeout);
      expect(fn.environment).toMatchObject({
        STATE_TABLE_NAME: 'stagecrew-StateTable',
        SETTINGS_PARAMETER_NAME: 'stagecrew-SettingsParameter',
        SECRETS_ARN: model.secrets[0]?.arn,
        AWS_LAMBDA_FUNCTION_NAME: fn.name,
      });
    }
    const request = model.functions.find((f) => f.logicalId === 'ApprovalRequestFunction');
    expect(request?.environment.APPROVAL_TOPIC_ARN).toBe('arn:aws:sns:us-east-1:000000000000:stagecrew-ApprovalTopic');
  });

  it('computes the same secret ARN as the Secrets Manager service', () => {
    expect(model.secrets[0]?.arn).toBe(
      secretArn({ region: 'us-east-1', accountId: '000000000000' }, 'stagecrew-Secrets'),
    );
  });

  it('reads event sources: SNS, EventBridge rules, schedules and HTTP routes', () => {
    expect(model.subscriptions).toEqual([
      expect.objectContaining({ functionName: 'stagecrew-ApprovalRequestFunction', topicArn: model.topics[0]?.arn }),
    ]);
    const rule = model.rules.find((r) => r.name === 'stagecrew-StackEventsFunction-StackStatusChanges');
    expect(rule?.pattern).toEqual({
      source: ['aws.cloudformation'],
      'detail-type': ['CloudFormation Stack Status Change'],
      detail: { 'status-details': { status: [{ suffix: '_COMPLETE' }, { suffix: '_FAILED' }] } },
    });
    expect(rule?.targetArn).toBe('arn:aws:lambda:us-east-1:000000000000:function:stagecrew-StackEventsFunction');
    expect(model.schedules.map((s) => [s.functionName, s.expression, s.kind])).toEqual(
      expect.arrayContaining([['stagecrew-TeardownSweeperFunction', 'rate(1 hour)', 'ScheduleV2']]),
    );
    expect(model.routes).toEqual(
      expect.arrayContaining([
        { method: 'GET', path: '/approvals/{id}', functionName: 'stagecrew-ApprovalApiFunction' },
      ]),
    );
  });

  it('builds the table, the settings parameter with conditions resolved, and state machine substitutions', () => {
    expect(model.tables[0]).toMatchObject({ name: 'stagecrew-StateTable', ttlAttribute: 'ttl' });
    expect(model.tables[0]?.createTable).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [expect.objectContaining({ IndexName: 'gsi1' })],
    });
    const settings = JSON.parse(model.parameters[0]?.value ?? '');
    expect(settings.approvals.defaults.slackChannels).toEqual([]);
    const withChannel = buildModel(template, {
      ...base,
      parameterOverrides: { SlackDefaultChannel: 'C42', EmailRecipients: 'a@x.io,b@x.io' },
    });
    const s2 = JSON.parse(withChannel.parameters[0]?.value ?? '');
    expect(s2.approvals.defaults.slackChannels).toEqual(['C42']);
    expect(s2.approvals.defaults.emails).toEqual(['a@x.io', 'b@x.io']);
    expect(model.stateMachines[0]?.definition).not.toMatch(/\$\{TeardownTaskFunctionArn\}/);
  });

  it('rejects unknown or disallowed parameter overrides', () => {
    expect(() => buildModel(template, { ...base, parameterOverrides: { Nope: 'x' } })).toThrow(
      /unknown template parameter Nope/,
    );
    expect(() => buildModel(template, { ...base, parameterOverrides: { LogLevel: 'LOUD' } })).toThrow(/not one of/);
    expect(() => buildModel(template, { ...base, parameterOverrides: { ApprovalQuorum: 'two' } })).toThrow(
      /must be a number/,
    );
  });

  it('skips resources whose Condition is false', () => {
    const t = parseTemplate(`
Parameters: { On: { Type: String, Default: 'no' } }
Conditions: { IsOn: !Equals [!Ref On, 'yes'] }
Resources:
  T: { Type: AWS::SNS::Topic, Condition: IsOn }
  U: { Type: AWS::SNS::Topic }
`);
    expect(buildModel(t, base).topics.map((x) => x.logicalId)).toEqual(['U']);
    expect(buildModel(t, { ...base, parameterOverrides: { On: 'yes' } }).topics.map((x) => x.logicalId)).toEqual([
      'T',
      'U',
    ]);
  });
});
