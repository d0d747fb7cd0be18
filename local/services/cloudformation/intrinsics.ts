import { AwsError } from '../types.ts';

/**
 * Evaluates CloudFormation intrinsic functions against local values. Template parsing (YAML short forms) is
 * `#local/runtime/template`; this file only resolves the long forms.
 */
export type Env = {
  region: string;
  accountId: string;
  stackName: string;
  stackId: string;
  params: Record<string, string | string[]>;
  /** Logical id → Ref value and attributes, for resources provisioned so far. */
  resources: Record<string, { ref: string; attrs: (name: string) => string | undefined }>;
  conditions: Record<string, unknown>;
  mappings: Record<string, Record<string, Record<string, unknown>>>;
  importValue(name: string): string;
};

export const NO_VALUE = Symbol('AWS::NoValue');

export const templateError = (message: string) => new AwsError('ValidationError', `Template format error: ${message}`);

const PSEUDO = [
  'AWS::Region',
  'AWS::AccountId',
  'AWS::StackName',
  'AWS::StackId',
  'AWS::Partition',
  'AWS::URLSuffix',
  'AWS::NoValue',
  'AWS::NotificationARNs',
];
export const isPseudo = (name: string) => PSEUDO.includes(name);

const pseudo = (name: string, env: Env): unknown => {
  switch (name) {
    case 'AWS::Region':
      return env.region;
    case 'AWS::AccountId':
      return env.accountId;
    case 'AWS::StackName':
      return env.stackName;
    case 'AWS::StackId':
      return env.stackId;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::NotificationARNs':
      return [];
    default:
      return NO_VALUE;
  }
};

const ref = (name: string, env: Env): unknown => {
  if (isPseudo(name)) return pseudo(name, env);
  if (name in env.params) return env.params[name];
  const resource = env.resources[name];
  if (resource) return resource.ref;
  throw new AwsError(
    'ValidationError',
    `Template format error: Unresolved resource dependencies [${name}] in the Resources block of the template`,
  );
};

const getAtt = (logicalId: string, attr: string, env: Env): string => {
  const resource = env.resources[logicalId];
  if (!resource) {
    throw new AwsError(
      'ValidationError',
      `Template error: instance of Fn::GetAtt references undefined resource ${logicalId}`,
    );
  }
  const value = resource.attrs(attr);
  if (value === undefined)
    throw new AwsError(
      'ValidationError',
      `Template error: resource ${logicalId} does not support attribute type ${attr} in Fn::GetAtt`,
    );
  return value;
};

const sub = (template: string, vars: Record<string, unknown>, env: Env): string =>
  template.replace(/\$\{([^}]*)\}/g, (whole, expr: string) => {
    if (expr.startsWith('!')) return `\${${expr.slice(1)}}`;
    const name = expr.trim();
    if (name in vars) return String(vars[name]);
    const dot = name.indexOf('.');
    if (dot > 0 && !isPseudo(name) && !(name in env.params))
      return getAtt(name.slice(0, dot), name.slice(dot + 1), env);
    const value = ref(name, env);
    if (value === NO_VALUE) return whole;
    return Array.isArray(value) ? value.join(',') : String(value);
  });

export const evalCondition = (name: string, env: Env, seen: string[] = []): boolean => {
  if (!(name in env.conditions)) throw templateError(`Unresolved condition dependency ${name}`);
  if (seen.includes(name))
    throw templateError(`Circular dependency between conditions: [${[...seen, name].join(', ')}]`);
  return Boolean(resolve(env.conditions[name], env, [...seen, name]));
};

/** Resolves every intrinsic function in `value`; `AWS::NoValue` properties and list items are dropped. */
export const resolve = (value: unknown, env: Env, conditionPath: string[] = []): unknown => {
  if (Array.isArray(value)) {
    return value.map((v) => resolve(v, env, conditionPath)).filter((v) => v !== NO_VALUE);
  }
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const key = keys[0] as string;
    const arg = obj[key];
    const r = (v: unknown) => resolve(v, env, conditionPath);
    switch (key) {
      case 'Ref':
        return ref(String(arg), env);
      case 'Condition':
        if (typeof arg === 'string') return evalCondition(arg, env, conditionPath);
        break;
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? arg.map((a) => String(r(a))) : String(arg).split(/\.(.*)/s);
        return getAtt(String(id), String(attr), env);
      }
      case 'Fn::Sub': {
        if (typeof arg === 'string') return sub(arg, {}, env);
        const [text, vars] = arg as [string, Record<string, unknown>];
        const resolvedVars = Object.fromEntries(Object.entries(vars ?? {}).map(([k, v]) => [k, r(v)]));
        return sub(String(text), resolvedVars, env);
      }
      case 'Fn::Join': {
        const [sep, list] = arg as [string, unknown];
        return (r(list) as unknown[]).map(String).join(sep);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = r(list) as unknown[];
        const i = Number(r(index));
        if (!Array.isArray(items) || !(i >= 0 && i < items.length))
          throw templateError('Fn::Select cannot select nonexistent value');
        return items[i];
      }
      case 'Fn::Split': {
        const [sep, text] = arg as [string, unknown];
        return String(r(text)).split(sep);
      }
      case 'Fn::If': {
        const [cond, whenTrue, whenFalse] = arg as [string, unknown, unknown];
        const chosen = evalCondition(cond, env, conditionPath) ? whenTrue : whenFalse;
        return r(chosen);
      }
      case 'Fn::Equals': {
        const [a, b] = (arg as unknown[]).map(r);
        return JSON.stringify(a) === JSON.stringify(b) || String(a) === String(b);
      }
      case 'Fn::And':
        return (arg as unknown[]).every((c) => Boolean(r(c)));
      case 'Fn::Or':
        return (arg as unknown[]).some((c) => Boolean(r(c)));
      case 'Fn::Not':
        return !r((arg as unknown[])[0]);
      case 'Fn::ImportValue':
        return env.importValue(String(r(arg)));
      case 'Fn::Base64':
        return Buffer.from(String(r(arg))).toString('base64');
      case 'Fn::GetAZs': {
        const region = String(r(arg) || env.region);
        return ['a', 'b', 'c'].map((s) => `${region}${s}`);
      }
      case 'Fn::FindInMap': {
        const [map, top, second] = (arg as unknown[]).map(r).map(String) as [string, string, string];
        const found = env.mappings[map]?.[top]?.[second];
        if (found === undefined) throw templateError(`Unable to get mapping for ${map}::${top}::${second}`);
        return found;
      }
      case 'Fn::Length':
        return (r(arg) as unknown[]).length;
      case 'Fn::ToJsonString':
        return JSON.stringify(r(arg));
      case 'Fn::Transform':
        return NO_VALUE;
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const resolved = resolve(v, env, conditionPath);
    if (resolved !== NO_VALUE) out[k] = resolved;
  }
  return out;
};

/** Logical ids a value depends on through Ref, Fn::GetAtt and Fn::Sub (for ordering and validation). */
export const references = (value: unknown, into = new Set<string>()): Set<string> => {
  if (Array.isArray(value)) {
    for (const v of value) references(v, into);
    return into;
  }
  if (value === null || typeof value !== 'object') return into;
  for (const [key, arg] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'Ref' && typeof arg === 'string') into.add(arg);
    else if (key === 'Fn::GetAtt') {
      const id = Array.isArray(arg) ? arg[0] : String(arg).split('.')[0];
      if (typeof id === 'string') into.add(id);
    } else if (key === 'Fn::Sub') {
      const text = typeof arg === 'string' ? arg : Array.isArray(arg) ? String(arg[0]) : '';
      const vars = Array.isArray(arg) && arg[1] && typeof arg[1] === 'object' ? Object.keys(arg[1] as object) : [];
      for (const m of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
        const name = (m[1] as string).trim();
        if (!vars.includes(name)) into.add(name.split('.')[0] as string);
      }
      if (Array.isArray(arg)) references(arg[1], into);
    } else references(arg, into);
  }
  return into;
};
