import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import type { HttpRoute } from './http-api.ts';
import { Resolver, TemplateError } from './intrinsics.ts';
import type { Resource, Template } from './template.ts';

/**
 * Turns template.yaml into the local cloud's wiring: every resource gets a local name and ARN, intrinsics are
 * resolved against them, and each function's environment and event sources (SNS, EventBridge rules, schedules,
 * HTTP routes) come from the template itself, never from a second hand-kept list.
 */
export type LocalFunction = {
  logicalId: string;
  name: string;
  arn: string;
  /** Absolute path of the handler module and its export, from `Handler: functions/x/handler.handler`. */
  modulePath: string;
  exportName: string;
  timeoutSeconds: number;
  memoryMb: number;
  environment: Record<string, string>;
};
export type TableSpec = {
  logicalId: string;
  name: string;
  createTable: Record<string, unknown>;
  ttlAttribute?: string;
};
export type ParameterSpec = {
  logicalId: string;
  name: string;
  type: string;
  value: string;
  description?: string;
  tier?: string;
};
export type SecretSpec = {
  logicalId: string;
  name: string;
  arn: string;
  description?: string;
  secretString?: string;
  generate?: { template?: string; key?: string; length: number; excludePunctuation: boolean };
};
export type TopicSpec = { logicalId: string; name: string; arn: string };
export type SubscriptionSpec = { topicArn: string; functionName: string; functionArn: string };
export type RuleSpec = {
  name: string;
  pattern: Record<string, unknown>;
  eventBusName: string;
  targetArn: string;
  targetId: string;
  input?: string;
  retryPolicy?: Record<string, unknown>;
};
export type ScheduleSpec = {
  name: string;
  kind: 'ScheduleV2' | 'Schedule';
  expression: string;
  functionName: string;
  input?: string;
  enabled: boolean;
};
export type StateMachineSpec = {
  logicalId: string;
  name: string;
  arn: string;
  definition: string;
  roleArn: string;
  type: string;
};
export type LocalModel = {
  functions: LocalFunction[];
  tables: TableSpec[];
  parameters: ParameterSpec[];
  secrets: SecretSpec[];
  topics: TopicSpec[];
  subscriptions: SubscriptionSpec[];
  rules: RuleSpec[];
  schedules: ScheduleSpec[];
  routes: HttpRoute[];
  stateMachines: StateMachineSpec[];
  /** `AWS::Events::EventBusPolicy` statements: who else may put events on the local account's buses. */
  busPolicies: Array<{ logicalId: string; eventBusName: string; statementId: string; statement: unknown }>;
  outputs: Record<string, string>;
};

export type WiringOptions = {
  /** Absolute path of template.yaml; handler and DefinitionUri paths resolve against its directory. */
  templatePath: string;
  baseUrl: string;
  region?: string;
  accountId?: string;
  stackName?: string;
  parameterOverrides?: Record<string, unknown>;
  /** Extra environment for every function (after the template's). */
  environment?: Record<string, string>;
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The local Slack workspace the Slack stand-in answers `users.info`, `users.lookupByEmail`, `usergroups.users.list`
 * and `conversations.members` from: users with their profile email, user groups and channel members.
 */
export type SlackDirectoryConfig = {
  users?: Array<{ id: string; name?: string; realName?: string; email?: string }>;
  usergroups?: Record<string, string[]>;
  channels?: Record<string, string[]>;
};

/**
 * Reads `stagecrew.local.json` (optional):
 * `{ "parameters": { "SlackDefaultChannel": "C123" }, "slack": { "users": [...], "usergroups": {}, "channels": {} } }`.
 */
export const readLocalConfig = (
  path: string,
): { parameters: Record<string, unknown>; slack?: SlackDirectoryConfig } => {
  if (!existsSync(path)) return { parameters: {} };
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TemplateError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw new TemplateError(`${path} must hold a JSON object`);
  const params = doc.parameters ?? doc.Parameters ?? {};
  if (!isObject(params)) throw new TemplateError(`${path}: "parameters" must be an object`);
  if (doc.slack !== undefined && !isObject(doc.slack)) throw new TemplateError(`${path}: "slack" must be an object`);
  return { parameters: params, ...(doc.slack ? { slack: doc.slack as SlackDirectoryConfig } : {}) };
};

const resolveParameters = (template: Template, overrides: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(overrides)) {
    if (!(name in (template.Parameters ?? {}))) throw new TemplateError(`unknown template parameter ${name}`);
  }
  for (const [name, def] of Object.entries(template.Parameters ?? {})) {
    const raw = name in overrides ? overrides[name] : def.Default;
    if (raw === undefined) throw new TemplateError(`parameter ${name} has no default and no local value`);
    const allowed = def.AllowedValues as unknown[] | undefined;
    if (allowed && !allowed.map(String).includes(String(raw))) {
      throw new TemplateError(`parameter ${name}: "${String(raw)}" is not one of ${allowed.join(', ')}`);
    }
    if (def.Type === 'Number' && !Number.isFinite(Number(raw))) {
      throw new TemplateError(`parameter ${name} must be a number, got "${String(raw)}"`);
    }
    out[name] = def.Type === 'CommaDelimitedList' ? String(raw).split(',') : String(raw);
  }
  return out;
};

const suffix = (text: string) =>
  createHash('sha256').update(text).digest('base64url').replace(/[-_]/g, 'x').slice(0, 6);

/** The local physical identity of each resource: what `Ref` returns and its `GetAtt` attributes. */
const identity = (
  id: string,
  resource: Resource,
  ctx: { region: string; account: string; stack: string; baseUrl: string },
): { ref: string; attributes: Record<string, string> } => {
  const { region, account, stack } = ctx;
  const props = resource.Properties ?? {};
  const given = (key: string) => (typeof props[key] === 'string' ? (props[key] as string) : undefined);
  const name = `${stack}-${id}`;
  switch (resource.Type) {
    case 'AWS::Serverless::Function':
    case 'AWS::Lambda::Function': {
      const fn = given('FunctionName') ?? name;
      return { ref: fn, attributes: { Arn: `arn:aws:lambda:${region}:${account}:function:${fn}` } };
    }
    case 'AWS::DynamoDB::Table': {
      const table = given('TableName') ?? name;
      const arn = `arn:aws:dynamodb:${region}:${account}:table/${table}`;
      return { ref: table, attributes: { Arn: arn, StreamArn: `${arn}/stream/local` } };
    }
    case 'AWS::SSM::Parameter': {
      const param = given('Name') ?? name;
      return { ref: param, attributes: { Type: String(props.Type ?? 'String') } };
    }
    case 'AWS::SecretsManager::Secret': {
      const secret = given('Name') ?? name;
      const arn = `arn:aws:secretsmanager:${region}:${account}:secret:${secret}-${suffix(secret)}`;
      return { ref: arn, attributes: { Id: arn } };
    }
    case 'AWS::SNS::Topic': {
      const topic = given('TopicName') ?? name;
      const arn = `arn:aws:sns:${region}:${account}:${topic}`;
      return { ref: arn, attributes: { TopicArn: arn, TopicName: topic } };
    }
    case 'AWS::SQS::Queue': {
      const queue = given('QueueName') ?? name;
      const url = `${ctx.baseUrl}/${account}/${queue}`;
      return {
        ref: url,
        attributes: { Arn: `arn:aws:sqs:${region}:${account}:${queue}`, QueueName: queue, QueueUrl: url },
      };
    }
    case 'AWS::Serverless::HttpApi':
    case 'AWS::ApiGatewayV2::Api':
      return { ref: 'local', attributes: { ApiEndpoint: ctx.baseUrl, ApiId: 'local' } };
    case 'AWS::Logs::LogGroup': {
      const group = given('LogGroupName') ?? `/${stack}/${id}`;
      return { ref: group, attributes: { Arn: `arn:aws:logs:${region}:${account}:log-group:${group}:*` } };
    }
    case 'AWS::Serverless::StateMachine':
    case 'AWS::StepFunctions::StateMachine': {
      const sm = given('Name') ?? given('StateMachineName') ?? name;
      const arn = `arn:aws:states:${region}:${account}:stateMachine:${sm}`;
      return { ref: arn, attributes: { Arn: arn, Name: sm } };
    }
    case 'AWS::S3::Bucket': {
      const bucket = given('BucketName') ?? name.toLowerCase();
      return { ref: bucket, attributes: { Arn: `arn:aws:s3:::${bucket}`, DomainName: `${bucket}.s3.amazonaws.com` } };
    }
    default:
      return { ref: name, attributes: { Arn: `arn:aws:local:${region}:${account}:${id}` } };
  }
};

const str = (v: unknown, what: string): string => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new TemplateError(`${what} must resolve to a string`);
};

export const buildModel = (template: Template, options: WiringOptions): LocalModel => {
  const region = options.region ?? 'us-east-1';
  const account = options.accountId ?? '000000000000';
  const stack = options.stackName ?? 'stagecrew';
  const root = dirname(options.templatePath);
  const parameters = resolveParameters(template, options.parameterOverrides ?? {});
  const refs: Record<string, string> = {};
  const attributes: Record<string, Record<string, string>> = {};
  const idCtx = { region, account, stack, baseUrl: options.baseUrl };
  for (const [id, resource] of Object.entries(template.Resources)) {
    const ident = identity(id, resource, idCtx);
    refs[id] = ident.ref;
    attributes[id] = ident.attributes;
  }
  const resolver = new Resolver({
    parameters,
    pseudo: {
      'AWS::Region': region,
      'AWS::AccountId': account,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': stack,
      'AWS::StackId': `arn:aws:cloudformation:${region}:${account}:stack/${stack}/local`,
    },
    refs,
    attributes,
    conditions: template.Conditions ?? {},
  });
  const within = <T>(id: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof TemplateError) throw new TemplateError(`${id}: ${err.message}`);
      throw err;
    }
  };
  const active = Object.entries(template.Resources).filter(
    ([, r]) => r.Condition === undefined || resolver.condition(r.Condition),
  );
  const model: LocalModel = {
    functions: [],
    tables: [],
    parameters: [],
    secrets: [],
    topics: [],
    subscriptions: [],
    rules: [],
    schedules: [],
    routes: [],
    stateMachines: [],
    busPolicies: [],
    outputs: {},
  };
  const globals = (template.Globals?.Function ?? {}) as Record<string, unknown>;
  for (const [id, resource] of active) {
    const props = resource.Properties ?? {};
    within(id, () => {
      switch (resource.Type) {
        case 'AWS::Serverless::Function':
          addFunction(model, id, props, globals, resolver, { refs, attributes, root, options });
          break;
        case 'AWS::DynamoDB::Table': {
          const p = resolver.resolve(props) as Record<string, unknown>;
          const createTable: Record<string, unknown> = {
            TableName: refs[id],
            AttributeDefinitions: p.AttributeDefinitions,
            KeySchema: p.KeySchema,
          };
          if (p.GlobalSecondaryIndexes) {
            createTable.GlobalSecondaryIndexes = (p.GlobalSecondaryIndexes as Array<Record<string, unknown>>).map(
              (g) => ({
                IndexName: g.IndexName,
                KeySchema: g.KeySchema,
                Projection: g.Projection,
                ...(p.BillingMode === 'PAY_PER_REQUEST'
                  ? {}
                  : {
                      ProvisionedThroughput: g.ProvisionedThroughput ?? { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
                    }),
              }),
            );
          }
          if (p.LocalSecondaryIndexes) createTable.LocalSecondaryIndexes = p.LocalSecondaryIndexes;
          if (p.BillingMode === 'PAY_PER_REQUEST') createTable.BillingMode = 'PAY_PER_REQUEST';
          else
            createTable.ProvisionedThroughput = p.ProvisionedThroughput ?? {
              ReadCapacityUnits: 5,
              WriteCapacityUnits: 5,
            };
          const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
          model.tables.push({
            logicalId: id,
            name: refs[id] as string,
            createTable,
            ...(ttl?.Enabled && ttl.AttributeName ? { ttlAttribute: ttl.AttributeName } : {}),
          });
          break;
        }
        case 'AWS::SSM::Parameter': {
          const p = resolver.resolve(props) as Record<string, unknown>;
          model.parameters.push({
            logicalId: id,
            name: refs[id] as string,
            type: String(p.Type ?? 'String'),
            value: str(p.Value, 'Value'),
            ...(typeof p.Description === 'string' ? { description: p.Description } : {}),
            ...(typeof p.Tier === 'string' ? { tier: p.Tier } : {}),
          });
          break;
        }
        case 'AWS::SecretsManager::Secret': {
          const p = resolver.resolve(props) as Record<string, unknown>;
          const gen = p.GenerateSecretString as Record<string, unknown> | undefined;
          const arn = refs[id] as string;
          model.secrets.push({
            logicalId: id,
            name: typeof p.Name === 'string' ? p.Name : `${stack}-${id}`,
            arn,
            ...(typeof p.Description === 'string' ? { description: p.Description } : {}),
            ...(typeof p.SecretString === 'string' ? { secretString: p.SecretString } : {}),
            ...(gen
              ? {
                  generate: {
                    ...(typeof gen.SecretStringTemplate === 'string' ? { template: gen.SecretStringTemplate } : {}),
                    ...(typeof gen.GenerateStringKey === 'string' ? { key: gen.GenerateStringKey } : {}),
                    length: Number(gen.PasswordLength ?? 32),
                    excludePunctuation: gen.ExcludePunctuation === true || gen.ExcludePunctuation === 'true',
                  },
                }
              : {}),
          });
          break;
        }
        case 'AWS::SNS::Topic':
          model.topics.push({ logicalId: id, name: attributes[id]?.TopicName as string, arn: refs[id] as string });
          break;
        case 'AWS::Serverless::StateMachine':
          addStateMachine(model, id, props, resolver, { refs, attributes, root, account, stack });
          break;
        case 'AWS::Events::EventBusPolicy': {
          const p = resolver.resolve(props) as Record<string, unknown>;
          model.busPolicies.push({
            logicalId: id,
            eventBusName: typeof p.EventBusName === 'string' ? p.EventBusName : 'default',
            statementId: str(p.StatementId, 'StatementId'),
            statement: p.Statement,
          });
          break;
        }
      }
    });
  }
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    try {
      model.outputs[name] = str(resolver.resolve(output.Value), `output ${name}`);
    } catch {
      // an output built from something the local cloud does not model is simply not listed
    }
  }
  return model;
};

type AddCtx = {
  refs: Record<string, string>;
  attributes: Record<string, Record<string, string>>;
  root: string;
  options: WiringOptions;
};

const addFunction = (
  model: LocalModel,
  id: string,
  props: Record<string, unknown>,
  globals: Record<string, unknown>,
  resolver: Resolver,
  ctx: AddCtx,
): void => {
  const handler = String(props.Handler ?? globals.Handler ?? '');
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) throw new TemplateError(`Handler "${handler}" must look like path/to/module.export`);
  const codeUri = String(props.CodeUri ?? globals.CodeUri ?? '.');
  const modulePath = resolvePath(ctx.root, codeUri, `${handler.slice(0, dot)}.ts`);
  const name = ctx.refs[id] as string;
  const arn = ctx.attributes[id]?.Arn as string;
  const globalEnv = ((globals.Environment as Record<string, unknown> | undefined)?.Variables ?? {}) as Record<
    string,
    unknown
  >;
  const ownEnv = ((props.Environment as Record<string, unknown> | undefined)?.Variables ?? {}) as Record<
    string,
    unknown
  >;
  const resolvedEnv = resolver.resolve({ ...globalEnv, ...ownEnv }) as Record<string, unknown>;
  const timeoutSeconds = Number(props.Timeout ?? globals.Timeout ?? 3);
  const memoryMb = Number(props.MemorySize ?? globals.MemorySize ?? 128);
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries(resolvedEnv)) environment[k] = str(v, `environment ${k}`);
  Object.assign(environment, ctx.options.environment ?? {}, {
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
  });
  model.functions.push({
    logicalId: id,
    name,
    arn,
    modulePath,
    exportName: handler.slice(dot + 1),
    timeoutSeconds,
    memoryMb,
    environment,
  });

  for (const [eventId, event] of Object.entries(
    (props.Events ?? {}) as Record<string, { Type: string; Properties?: unknown }>,
  )) {
    const p = (resolver.resolve(event.Properties ?? {}) ?? {}) as Record<string, unknown>;
    switch (event.Type) {
      case 'SNS':
        model.subscriptions.push({ topicArn: str(p.Topic, `${eventId}.Topic`), functionName: name, functionArn: arn });
        break;
      case 'EventBridgeRule':
      case 'CloudWatchEvent':
        model.rules.push({
          name: typeof p.RuleName === 'string' ? p.RuleName : `${name}-${eventId}`,
          pattern: (p.Pattern ?? {}) as Record<string, unknown>,
          eventBusName: typeof p.EventBusName === 'string' ? p.EventBusName : 'default',
          targetArn: arn,
          targetId: `${id}${eventId}`.slice(0, 64),
          ...(typeof p.Input === 'string' ? { input: p.Input } : {}),
          ...(isObject(p.RetryPolicy) ? { retryPolicy: p.RetryPolicy } : {}),
        });
        break;
      case 'Schedule':
      case 'ScheduleV2':
        model.schedules.push({
          name: typeof p.Name === 'string' ? p.Name : `${name}-${eventId}`,
          kind: event.Type,
          expression: str(p.ScheduleExpression ?? p.Schedule, `${eventId}.ScheduleExpression`),
          functionName: name,
          ...(typeof p.Input === 'string' ? { input: p.Input } : {}),
          enabled: p.Enabled !== false && p.State !== 'DISABLED',
        });
        break;
      case 'HttpApi':
        model.routes.push({
          method: String(p.Method ?? 'ANY').toUpperCase() === 'ANY' ? 'ANY' : String(p.Method).toUpperCase(),
          path: String(p.Path ?? '/{proxy+}'),
          functionName: name,
          ...((p.Auth as { Authorizer?: unknown } | undefined)?.Authorizer === 'AWS_IAM'
            ? { auth: 'AWS_IAM' as const }
            : {}),
        });
        break;
    }
  }
};

const addStateMachine = (
  model: LocalModel,
  id: string,
  props: Record<string, unknown>,
  resolver: Resolver,
  ctx: {
    refs: Record<string, string>;
    attributes: Record<string, Record<string, string>>;
    root: string;
    account: string;
    stack: string;
  },
): void => {
  let definition: string;
  if (typeof props.DefinitionUri === 'string') {
    definition = readFileSync(resolvePath(ctx.root, props.DefinitionUri), 'utf8');
  } else if (props.Definition !== undefined) {
    definition = JSON.stringify(resolver.resolve(props.Definition));
  } else {
    throw new TemplateError('state machine needs DefinitionUri or Definition');
  }
  const subs = (resolver.resolve(props.DefinitionSubstitutions ?? {}) ?? {}) as Record<string, unknown>;
  definition = definition.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, key: string) =>
    key in subs ? String(subs[key]) : whole,
  );
  const arn = ctx.refs[id] as string;
  model.stateMachines.push({
    logicalId: id,
    name: ctx.attributes[id]?.Name as string,
    arn,
    definition,
    roleArn: `arn:aws:iam::${ctx.account}:role/${ctx.stack}-${id}-role`,
    type: String(props.Type ?? 'STANDARD'),
  });
  for (const [eventId, event] of Object.entries(
    (props.Events ?? {}) as Record<string, { Type: string; Properties?: unknown }>,
  )) {
    if (event.Type !== 'EventBridgeRule' && event.Type !== 'CloudWatchEvent') continue;
    const p = (resolver.resolve(event.Properties ?? {}) ?? {}) as Record<string, unknown>;
    model.rules.push({
      name: `${ctx.attributes[id]?.Name}-${eventId}`,
      pattern: (p.Pattern ?? {}) as Record<string, unknown>,
      eventBusName: typeof p.EventBusName === 'string' ? p.EventBusName : 'default',
      targetArn: arn,
      targetId: `${id}${eventId}`.slice(0, 64),
    });
  }
};
