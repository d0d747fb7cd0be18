import { parseTemplate, type Template } from '../../runtime/template.ts';
import type { LocalContext } from '../types.ts';
import { AwsError } from '../types.ts';
import { isPseudo, references, templateError } from './intrinsics.ts';
import { IAM_TYPES } from './resources.ts';

/** Persisted shapes of the local CloudFormation and the template checks done when a request is accepted. */
export type ResourceRecord = {
  type: string;
  status: string;
  reason?: string;
  timestamp: string;
  physicalId?: string;
  ref?: string;
  attrs?: Record<string, string>;
  props?: Record<string, unknown>;
};
export type Output = { OutputKey: string; OutputValue: string; Description?: string; ExportName?: string };
export type Tag = { Key: string; Value: string };
export type Definition = {
  templateBody: string;
  params: Record<string, string>;
  tags: Tag[];
  capabilities: string[];
};
export type Operation = {
  kind: 'create' | 'rollback' | 'update' | 'update-cleanup' | 'update-rollback' | 'delete';
  dueAt: number;
  token?: string;
};
export type StackRecord = Definition & {
  stackId: string;
  stackName: string;
  status: string;
  reason?: string;
  description?: string;
  creationTime: string;
  lastUpdatedTime?: string;
  deletionTime?: string;
  roleArn?: string;
  notificationArns: string[];
  disableRollback: boolean;
  onFailure: 'ROLLBACK' | 'DELETE' | 'DO_NOTHING';
  terminationProtection: boolean;
  resources: Record<string, ResourceRecord>;
  /** Creation order, deleted in reverse. */
  order: string[];
  outputs: Output[];
  imports: string[];
  tokens: Record<string, string>;
  op?: Operation;
  /** The definition an update is moving to, and the state to restore if it rolls back. */
  next?: Definition;
  previous?: { resources: Record<string, ResourceRecord>; order: string[]; outputs: Output[]; imports: string[] };
  /** Logical ids an update replaced or removed, deleted in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS. */
  cleanup?: Array<{ logicalId: string; type: string; physicalId: string }>;
  statusBeforeDelete?: string;
  deleteRequest?: { retain: string[]; force: boolean; token?: string };
  changeSetId?: string;
};
export type ChangeSetRecord = {
  id: string;
  name: string;
  stackId: string;
  stackName: string;
  type: 'CREATE' | 'UPDATE';
  status: string;
  executionStatus: string;
  statusReason?: string;
  creationTime: string;
  description?: string;
  definition: Definition;
  changes: Array<{
    Action: string;
    LogicalResourceId: string;
    PhysicalResourceId?: string;
    ResourceType: string;
    Replacement?: string;
  }>;
};

export const STACKS = 'cfn:stacks';
export const EVENTS = 'cfn:events';
export const CHANGE_SETS = 'cfn:changesets';

export const validationError = (message: string) => new AwsError('ValidationError', message);

export const bool = (v: unknown): boolean => v === true || v === 'true';

export const list = <T = unknown>(v: unknown): T[] => {
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v as T[];
  if (typeof v === 'object' && 'member' in (v as object)) return list<T>((v as { member: unknown }).member);
  return [v as T];
};

const STACK_NAME = /^[a-zA-Z][-a-zA-Z0-9]{0,127}$/;
export const checkStackName = (name: unknown): string => {
  if (typeof name !== 'string' || name === '')
    throw validationError(
      "1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null",
    );
  if (!STACK_NAME.test(name)) {
    throw validationError(
      `1 validation error detected: Value '${name}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*`,
    );
  }
  return name;
};

const TOKEN = /^[a-zA-Z0-9][-a-zA-Z0-9]{0,127}$/;
export const checkToken = (token: unknown): string | undefined => {
  if (token === undefined || token === null || token === '') return undefined;
  if (typeof token !== 'string' || !TOKEN.test(token)) {
    throw validationError(
      `1 validation error detected: Value '${String(token)}' at 'clientRequestToken' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9][-a-zA-Z0-9]*`,
    );
  }
  return token;
};

/** Reads TemplateBody or TemplateURL (an object in the local S3, path-style or virtual-hosted). */
export const readTemplateSource = async (input: Record<string, unknown>, ctx: LocalContext): Promise<string> => {
  const body = input.TemplateBody;
  const url = input.TemplateURL;
  if ((body === undefined || body === '') === (url === undefined || url === '')) {
    throw validationError('Either Template URL or Template Body must be specified.');
  }
  if (typeof body === 'string' && body !== '') return body;
  let bucket: string;
  let key: string;
  try {
    const u = new URL(String(url));
    const path = decodeURIComponent(u.pathname.replace(/^\//, ''));
    const virtual = /^(.+)\.s3[.-]/.exec(u.hostname);
    if (virtual?.[1]) {
      bucket = virtual[1];
      key = path;
    } else {
      const slash = path.indexOf('/');
      bucket = path.slice(0, slash);
      key = path.slice(slash + 1);
    }
    if (!bucket || !key) throw new Error('no bucket or key');
  } catch {
    throw validationError('TemplateURL must be a supported URL.');
  }
  try {
    const object = await ctx.call('s3', 'GetObject', { Bucket: bucket, Key: key });
    return String(object.Body ?? '');
  } catch (err) {
    throw validationError(`S3 error: ${err instanceof Error ? err.message : String(err)}`);
  }
};

export const parse = (text: string): Template => {
  let template: Template;
  try {
    template = parseTemplate(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw templateError(
      message.includes('Resources') ? 'At least one Resources member must be defined.' : `${message.split('\n')[0]}`,
    );
  }
  if (!template.Resources || Object.keys(template.Resources).length === 0) {
    throw templateError('At least one Resources member must be defined.');
  }
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (!resource || typeof resource.Type !== 'string')
      throw templateError(`[/Resources/${id}] Every Resources object must contain a Type member.`);
  }
  const known = new Set([...Object.keys(template.Parameters ?? {}), ...Object.keys(template.Resources)]);
  const unresolved = new Set<string>();
  for (const section of [template.Resources, template.Outputs ?? {}]) {
    for (const r of references(section)) if (!known.has(r) && !isPseudo(r)) unresolved.add(r);
  }
  if (unresolved.size > 0) {
    throw templateError(
      `Unresolved resource dependencies [${[...unresolved].join(', ')}] in the Resources block of the template`,
    );
  }
  order(template);
  return template;
};

/** Resource ids in dependency order (Ref, GetAtt, Sub, DependsOn), template order breaking ties. */
export const order = (template: Template): string[] => {
  const ids = Object.keys(template.Resources);
  const deps = new Map<string, Set<string>>();
  for (const id of ids) {
    const r = template.Resources[id];
    const d = new Set([...references(r?.Properties ?? {})].filter((x) => ids.includes(x) && x !== id));
    for (const dep of list<string>(r?.DependsOn)) {
      if (!ids.includes(dep))
        throw templateError(`Unresolved resource dependencies [${dep}] in the Resources block of the template`);
      d.add(dep);
    }
    deps.set(id, d);
  }
  const done: string[] = [];
  while (done.length < ids.length) {
    const next = ids.find((id) => !done.includes(id) && [...(deps.get(id) ?? [])].every((d) => done.includes(d)));
    if (!next)
      throw templateError(
        `Circular dependency between resources: [${ids.filter((i) => !done.includes(i)).join(', ')}]`,
      );
    done.push(next);
  }
  return done;
};

export const requiredCapabilities = (template: Template): { capabilities: string[]; reason?: string } => {
  const types = Object.values(template.Resources);
  const caps: string[] = [];
  const iam = types.filter((r) => IAM_TYPES.includes(r.Type) || r.Type === 'AWS::Serverless::Function');
  const named = iam.some((r) =>
    ['RoleName', 'UserName', 'GroupName', 'ManagedPolicyName', 'InstanceProfileName'].some(
      (p) => r.Properties?.[p] !== undefined,
    ),
  );
  if (named) caps.push('CAPABILITY_NAMED_IAM');
  else if (iam.length > 0) caps.push('CAPABILITY_IAM');
  if (template.Transform !== undefined) caps.push('CAPABILITY_AUTO_EXPAND');
  const first = iam[0];
  return {
    capabilities: caps,
    ...(caps.length > 0
      ? { reason: `The following resource(s) require capabilities: [${first ? first.Type : 'AWS::Serverless'}]` }
      : {}),
  };
};

export const checkCapabilities = (template: Template, given: string[]): void => {
  const { capabilities } = requiredCapabilities(template);
  const missing = capabilities.filter(
    (c) => !given.includes(c) && !(c === 'CAPABILITY_IAM' && given.includes('CAPABILITY_NAMED_IAM')),
  );
  if (missing.length > 0) {
    throw new AwsError('InsufficientCapabilitiesException', `Requires capabilities : [${missing.join(', ')}]`);
  }
};

/** Parameter values from the request, previous values and template defaults, checked as CloudFormation does. */
export const parameterValues = (
  template: Template,
  given: Array<{ ParameterKey?: string; ParameterValue?: string; UsePreviousValue?: unknown }>,
  previous: Record<string, string> = {},
): Record<string, string> => {
  const declared = template.Parameters ?? {};
  const unknown = given.map((p) => String(p.ParameterKey)).filter((k) => !(k in declared));
  if (unknown.length > 0) throw validationError(`Parameters: [${unknown.join(', ')}] do not exist in the template`);
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const [name, decl] of Object.entries(declared)) {
    const p = given.find((g) => g.ParameterKey === name);
    let value: string | undefined;
    if (p && bool(p.UsePreviousValue)) {
      value = previous[name];
      if (value === undefined)
        throw validationError(
          `Invalid input for parameter key ${name}. Cannot specify usePreviousValue as true for a parameter key not in the previous template`,
        );
    } else if (p) value = String(p.ParameterValue ?? '');
    else if (decl.Default !== undefined)
      value = Array.isArray(decl.Default) ? decl.Default.join(',') : String(decl.Default);
    if (value === undefined) {
      missing.push(name);
      continue;
    }
    const allowed = decl.AllowedValues as unknown[] | undefined;
    if (allowed && !allowed.map(String).includes(value)) {
      throw validationError(`Parameter '${name}' must be one of AllowedValues`);
    }
    const pattern = decl.AllowedPattern as string | undefined;
    if (pattern && !new RegExp(`^(?:${pattern})$`).test(value)) {
      throw validationError(`Parameter '${name}' must match pattern ${pattern}`);
    }
    if (decl.Type === 'Number' && value !== '' && Number.isNaN(Number(value))) {
      throw validationError(`Parameter '${name}' must be a number.`);
    }
    values[name] = value;
  }
  if (missing.length > 0) throw validationError(`Parameters: [${missing.join(', ')}] must have values`);
  return values;
};

export const typedParams = (template: Template, values: Record<string, string>): Record<string, string | string[]> =>
  Object.fromEntries(
    Object.entries(values).map(([k, v]) => {
      const type = String(template.Parameters?.[k]?.Type ?? 'String');
      return [k, type.startsWith('List<') || type === 'CommaDelimitedList' ? v.split(',').map((s) => s.trim()) : v];
    }),
  );

export const tagsFrom = (raw: unknown): Tag[] => {
  const tags = list<{ Key?: unknown; Value?: unknown }>(raw).map((t) => ({
    Key: String(t.Key ?? ''),
    Value: String(t.Value ?? ''),
  }));
  if (tags.length > 50)
    throw validationError(
      "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
    );
  return tags;
};

export const isArn = (s: string) => s.startsWith('arn:');
export const stackArn = (ctx: LocalContext, name: string, id: string) =>
  `arn:aws:cloudformation:${ctx.region}:${ctx.accountId}:stack/${name}/${id}`;
