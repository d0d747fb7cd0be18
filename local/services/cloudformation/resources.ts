import { randomBytes } from 'node:crypto';
import type { LocalContext } from '../types.ts';
import { AwsError } from '../types.ts';

/**
 * What a stack's resources become locally. `AWS::S3::Bucket` is a real bucket in the local S3 (so a non-empty
 * bucket makes the delete fail as on AWS); every other type is recorded with a physical id, Ref value and
 * attributes shaped like AWS's, without side effects.
 */
export type Provisioned = { physicalId: string; ref: string; attrs: Record<string, string> };

const NAME_PROPERTY: Record<string, string> = {
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::SSM::Parameter': 'Name',
  'AWS::Events::Rule': 'Name',
  'AWS::Events::EventBus': 'Name',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::Serverless::Function': 'FunctionName',
  'AWS::Serverless::StateMachine': 'Name',
  'AWS::ECR::Repository': 'RepositoryName',
  'AWS::KMS::Alias': 'AliasName',
};

export const IAM_TYPES = [
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::User',
  'AWS::IAM::Group',
  'AWS::IAM::AccessKey',
  'AWS::IAM::InstanceProfile',
  'AWS::IAM::UserToGroupAddition',
];

const suffix = () =>
  randomBytes(9)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .toUpperCase()
    .slice(0, 12)
    .padEnd(12, 'X');

/** AWS-style generated name: `<stack>-<logical id>-<random>`, trimmed to the type's length limit. */
export const generatedName = (stackName: string, logicalId: string, max = 64): string => {
  const tail = `-${suffix()}`;
  return `${stackName}-${logicalId}`.slice(0, max - tail.length) + tail;
};

const arnFor = (type: string, name: string, ctx: LocalContext): string => {
  const { region: r, accountId: a } = ctx;
  switch (type) {
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${r}:${a}:${name}`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${r}:${a}:${name}`;
    case 'AWS::Lambda::Function':
    case 'AWS::Serverless::Function':
      return `arn:aws:lambda:${r}:${a}:function:${name}`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${a}:role/${name}`;
    case 'AWS::IAM::User':
      return `arn:aws:iam::${a}:user/${name}`;
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${r}:${a}:table/${name}`;
    case 'AWS::Logs::LogGroup':
      return `arn:aws:logs:${r}:${a}:log-group:${name}:*`;
    case 'AWS::Events::Rule':
      return `arn:aws:events:${r}:${a}:rule/${name}`;
    case 'AWS::Events::EventBus':
      return `arn:aws:events:${r}:${a}:event-bus/${name}`;
    case 'AWS::StepFunctions::StateMachine':
    case 'AWS::Serverless::StateMachine':
      return `arn:aws:states:${r}:${a}:stateMachine:${name}`;
    case 'AWS::ECR::Repository':
      return `arn:aws:ecr:${r}:${a}:repository/${name}`;
    default: {
      const [, service = 'cloudformation', kind = 'resource'] = type.split('::');
      return `arn:aws:${service.toLowerCase()}:${r}:${a}:${kind.toLowerCase()}/${name}`;
    }
  }
};

const bucketAttrs = (name: string, region: string): Record<string, string> => ({
  Arn: `arn:aws:s3:::${name}`,
  DomainName: `${name}.s3.amazonaws.com`,
  RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
  DualStackDomainName: `${name}.s3.dualstack.${region}.amazonaws.com`,
  WebsiteURL: `http://${name}.s3-website-${region}.amazonaws.com`,
});

/** Computes identity without side effects (also used by change sets to preview physical ids). */
export const identify = (
  type: string,
  logicalId: string,
  props: Record<string, unknown>,
  stackName: string,
  ctx: LocalContext,
): Provisioned => {
  if (type === 'AWS::S3::Bucket') {
    const name =
      typeof props.BucketName === 'string' ? props.BucketName : generatedName(stackName, logicalId, 63).toLowerCase();
    return { physicalId: name, ref: name, attrs: bucketAttrs(name, ctx.region) };
  }
  const nameProp = NAME_PROPERTY[type];
  const name =
    nameProp && typeof props[nameProp] === 'string' ? (props[nameProp] as string) : generatedName(stackName, logicalId);
  const arn = arnFor(type, name, ctx);
  let ref = name;
  if (type === 'AWS::SNS::Topic' || type.endsWith('StateMachine')) ref = arn;
  if (type === 'AWS::SQS::Queue') ref = `https://sqs.${ctx.region}.amazonaws.com/${ctx.accountId}/${name}`;
  const attrs: Record<string, string> = { Arn: arn, Name: name };
  if (nameProp) attrs[nameProp] = name;
  if (type === 'AWS::SQS::Queue') attrs.QueueUrl = ref;
  if (type === 'AWS::IAM::Role') attrs.RoleId = `AROA${suffix()}`;
  if (type === 'AWS::DynamoDB::Table') attrs.StreamArn = `${arn}/stream/${new Date().toISOString()}`;
  if (type === 'AWS::Events::Rule') {
    // A rule on a custom bus is `<bus>|<rule>` (its Ref too), as CloudFormation names it.
    const bus = busOf(props);
    if (bus !== 'default') {
      ref = `${bus}|${name}`;
      attrs.Arn = `arn:aws:events:${ctx.region}:${ctx.accountId}:rule/${bus}/${name}`;
    }
  }
  return { physicalId: ref, ref, attrs };
};

const busOf = (props: Record<string, unknown>): string => {
  const bus = props.EventBusName;
  if (typeof bus !== 'string' || bus === '') return 'default';
  // An ARN names the bus too; its name is the part after `event-bus/`.
  return bus.startsWith('arn:') ? bus.slice(bus.indexOf('event-bus/') + 'event-bus/'.length) : bus;
};

/**
 * IAM roles the local cloud knows, by ARN (a global namespace: IAM is global per account). Local STS evaluates
 * `AssumeRole` against the trust policy recorded here; local CloudFormation records a role when it creates one.
 */
export const IAM_ROLES = 'iam:roles';
export type RoleRecord = {
  arn: string;
  roleName: string;
  roleId: string;
  assumeRolePolicyDocument: unknown;
  maxSessionDuration: number;
  createdAt: string;
};

const recordRole = (identity: Provisioned, props: Record<string, unknown>, ctx: LocalContext): void => {
  const doc = props.AssumeRolePolicyDocument;
  const role: RoleRecord = {
    arn: String(identity.attrs.Arn),
    roleName: String(identity.attrs.Name),
    roleId: String(identity.attrs.RoleId),
    assumeRolePolicyDocument: typeof doc === 'string' ? JSON.parse(doc) : (doc ?? {}),
    maxSessionDuration: typeof props.MaxSessionDuration === 'number' ? props.MaxSessionDuration : 3600,
    createdAt: new Date().toISOString(),
  };
  ctx.store.put(IAM_ROLES, role.arn, role);
};

/** A rule and its targets in the stack's own account and region, through the local EventBridge. */
const putRule = async (identity: Provisioned, props: Record<string, unknown>, ctx: LocalContext): Promise<void> => {
  const bus = busOf(props);
  const name = String(identity.attrs.Name);
  const pattern = props.EventPattern;
  await ctx.call('eventbridge', 'PutRule', {
    Name: name,
    EventBusName: bus,
    ...(pattern !== undefined ? { EventPattern: typeof pattern === 'string' ? pattern : JSON.stringify(pattern) } : {}),
    ...(typeof props.ScheduleExpression === 'string' ? { ScheduleExpression: props.ScheduleExpression } : {}),
    ...(typeof props.Description === 'string' ? { Description: props.Description } : {}),
    State: typeof props.State === 'string' ? props.State : 'ENABLED',
  });
  const targets = Array.isArray(props.Targets) ? (props.Targets as Array<Record<string, unknown>>) : [];
  if (targets.length > 0)
    await ctx.call('eventbridge', 'PutTargets', { Rule: name, EventBusName: bus, Targets: targets });
};

const deleteRule = async (physicalId: string, ctx: LocalContext): Promise<void> => {
  const [bus, name] = physicalId.includes('|') ? physicalId.split('|') : ['default', physicalId];
  const listed = (await ctx
    .call('eventbridge', 'ListTargetsByRule', { Rule: name, EventBusName: bus })
    .catch(() => ({ Targets: [] }))) as { Targets?: Array<{ Id: string }> };
  const ids = (listed.Targets ?? []).map((t) => t.Id);
  if (ids.length > 0) await ctx.call('eventbridge', 'RemoveTargets', { Rule: name, EventBusName: bus, Ids: ids });
  await ctx.call('eventbridge', 'DeleteRule', { Name: name, EventBusName: bus }).catch((err: unknown) => {
    if (!(err instanceof AwsError && err.code === 'ResourceNotFoundException')) throw err;
  });
};

/** Creates the resource for real where the local cloud has the service; throws a reason string on failure. */
export const createResource = async (
  type: string,
  identity: Provisioned,
  props: Record<string, unknown>,
  ctx: LocalContext,
): Promise<void> => {
  if (type === 'AWS::IAM::Role') return recordRole(identity, props, ctx);
  if (type === 'AWS::Events::Rule') return putRule(identity, props, ctx);
  if (type !== 'AWS::S3::Bucket') return;
  try {
    await ctx.call('s3', 'CreateBucket', { Bucket: identity.physicalId });
  } catch (err) {
    if (err instanceof AwsError && (err.code === 'BucketAlreadyOwnedByYou' || err.code === 'BucketAlreadyExists')) {
      throw new Error(`${identity.physicalId} already exists`);
    }
    throw new Error(err instanceof Error ? err.message : String(err));
  }
  const versioning = (props.VersioningConfiguration as { Status?: string } | undefined)?.Status;
  if (versioning) {
    await ctx.call('s3', 'PutBucketVersioning', {
      Bucket: identity.physicalId,
      VersioningConfiguration: { Status: versioning },
    });
  }
};

export const updateResource = async (
  type: string,
  identity: Provisioned,
  props: Record<string, unknown>,
  ctx: LocalContext,
): Promise<void> => {
  if (type === 'AWS::IAM::Role') return recordRole(identity, props, ctx);
  if (type === 'AWS::Events::Rule') return putRule(identity, props, ctx);
  if (type !== 'AWS::S3::Bucket') return;
  const versioning = (props.VersioningConfiguration as { Status?: string } | undefined)?.Status;
  if (versioning) {
    await ctx.call('s3', 'PutBucketVersioning', {
      Bucket: identity.physicalId,
      VersioningConfiguration: { Status: versioning },
    });
  }
};

const requestId = () => randomBytes(8).toString('hex').toUpperCase();

/** Deletes the resource; an error's message is the resource-level status reason AWS would report. */
export const deleteResource = async (type: string, physicalId: string, ctx: LocalContext): Promise<void> => {
  if (type === 'AWS::IAM::Role') {
    ctx.store.delete(
      IAM_ROLES,
      physicalId.startsWith('arn:') ? physicalId : `arn:aws:iam::${ctx.accountId}:role/${physicalId}`,
    );
    return;
  }
  if (type === 'AWS::Events::Rule') return deleteRule(physicalId, ctx);
  if (type !== 'AWS::S3::Bucket') return;
  try {
    await ctx.call('s3', 'DeleteBucket', { Bucket: physicalId });
  } catch (err) {
    if (err instanceof AwsError && err.code === 'NoSuchBucket') return; // already gone: CloudFormation moves on
    const code = err instanceof AwsError ? err.code : 'InternalError';
    const status = err instanceof AwsError ? err.status : 500;
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(
      `${message} (Service: Amazon S3; Status Code: ${status}; Error Code: ${code}; Request ID: ${requestId()}; S3 Extended Request ID: ${randomBytes(24).toString('base64')}; Proxy: null)`,
    );
  }
};

/** Whether a change of these properties replaces the resource (a new physical resource) rather than updating it. */
export const needsReplacement = (
  type: string,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): boolean => {
  const nameProp = type === 'AWS::S3::Bucket' ? 'BucketName' : NAME_PROPERTY[type];
  return nameProp !== undefined && JSON.stringify(before[nameProp]) !== JSON.stringify(after[nameProp]);
};
