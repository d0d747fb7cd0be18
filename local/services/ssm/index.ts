import { AwsError, type JsonService, type LocalContext } from '../types.ts';

/**
 * SSM Parameter Store (awsJson 1.1, `AmazonSSM.*`): put, get (one, several, by path), delete. Names, types, data types
 * and tiers are validated as Parameter Store does, with its messages; `/name` and `name` are the same top-level
 * parameter. Sources: the Systems Manager API reference (PutParameter, GetParameters, GetParametersByPath) and the
 * Parameter Store user guide (naming, tiers).
 */
type Parameter = {
  Name: string;
  Type: string;
  Value: string;
  Version: number;
  LastModifiedDate: string;
  DataType: string;
  Tier?: string;
  Description?: string;
};

const NS = 'ssm:parameters';
const TYPES = new Set(['String', 'StringList', 'SecureString']);
const DATA_TYPES = new Set(['text', 'aws:ec2:image', 'aws:ssm:integration']);
const TIERS = new Set(['Standard', 'Advanced', 'Intelligent-Tiering']);
const STANDARD_MAX = 4096;
const ADVANCED_MAX = 8192;

const invalid = (message: string) => new AwsError('ValidationException', message);

/** The key a name is stored under: a top-level name is the same parameter with or without its leading slash. */
const keyOf = (name: string): string => (name.startsWith('/') && !name.slice(1).includes('/') ? name.slice(1) : name);

/** Parameter Store's naming rules (letters, numbers, `.-_`, sub-paths divided by `/`; no aws/ssm prefix). */
const checkName = (name: string): void => {
  const isPath = name.startsWith('/') && name.slice(1).includes('/');
  const bare = name.replace(/^\//, '').toLowerCase();
  const badChars =
    !/^[a-zA-Z0-9_.\-/]+$/.test(name) ||
    (isPath &&
      name
        .split('/')
        .slice(1)
        .some((seg) => seg === ''));
  if (bare.startsWith('aws') || bare.startsWith('ssm') || badChars) {
    throw invalid(
      isPath
        ? 'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_'
        : 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).',
    );
  }
};

const arnOf = (ctx: LocalContext, name: string) =>
  `arn:aws:ssm:${ctx.region}:${ctx.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;

const requireName = (value: unknown, field = 'Name'): string => {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value at '${field.toLowerCase()}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
};

/** `name:3` selects a version; `name` the latest. */
const splitSelector = (raw: string): { name: string; version?: number } => {
  const m = /^(.*):(\d+)$/.exec(raw);
  return m ? { name: m[1] as string, version: Number(m[2]) } : { name: raw };
};

const view = (ctx: LocalContext, p: Parameter, selector?: string) => ({
  Name: p.Name,
  Type: p.Type,
  Value: p.Value,
  Version: p.Version,
  LastModifiedDate: new Date(p.LastModifiedDate),
  ARN: arnOf(ctx, p.Name),
  DataType: p.DataType,
  ...(selector ? { Selector: selector } : {}),
});

const find = (ctx: LocalContext, raw: string): Parameter | undefined => {
  const { name, version } = splitSelector(raw);
  if (version === undefined) return ctx.store.get<Parameter>(NS, keyOf(name));
  return ctx.store.get<Parameter>(`${NS}:history`, `${keyOf(name)}:${version}`);
};

export const service: JsonService = {
  protocol: 'json',
  id: 'ssm',
  targetPrefix: 'AmazonSSM',
  signingName: 'ssm',
  jsonVersion: '1.1',
  operations: {
    GetParameter(input: { Name?: unknown }, ctx) {
      const raw = requireName(input.Name);
      const p = find(ctx, raw);
      if (!p) throw new AwsError('ParameterNotFound', `Parameter ${raw} not found.`);
      return { Parameter: view(ctx, p, raw.includes(':') ? raw.slice(raw.lastIndexOf(':')) : undefined) };
    },
    GetParameters(input: { Names?: unknown }, ctx) {
      if (!Array.isArray(input.Names) || input.Names.length === 0 || input.Names.length > 10) {
        throw invalid(
          "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1",
        );
      }
      // Each name once (a repeated name is answered once); an unknown name or version is reported, not an error.
      const Parameters = [];
      const InvalidParameters: string[] = [];
      for (const raw of new Set(input.Names.map(String))) {
        const p = find(ctx, raw);
        if (p) Parameters.push(view(ctx, p, raw.includes(':') ? raw.slice(raw.lastIndexOf(':')) : undefined));
        else InvalidParameters.push(raw);
      }
      return { Parameters, InvalidParameters };
    },
    PutParameter(
      input: {
        Name?: unknown;
        Value?: unknown;
        Type?: unknown;
        Overwrite?: unknown;
        Description?: unknown;
        DataType?: unknown;
        Tier?: unknown;
      },
      ctx,
    ) {
      const name = requireName(input.Name);
      checkName(name);
      if (typeof input.Value !== 'string' || input.Value.length === 0) {
        throw invalid(
          "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1",
        );
      }
      const key = keyOf(name);
      const existing = ctx.store.get<Parameter>(NS, key);
      if (existing && input.Overwrite !== true) {
        throw new AwsError(
          'ParameterAlreadyExists',
          'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
        );
      }
      if (input.Type === undefined && !existing) {
        throw invalid('A parameter type is required when you create a parameter.');
      }
      const type = input.Type === undefined ? (existing?.Type as string) : String(input.Type);
      if (!TYPES.has(type)) {
        throw invalid(
          `1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`,
        );
      }
      const dataType = typeof input.DataType === 'string' ? input.DataType : (existing?.DataType ?? 'text');
      if (!DATA_TYPES.has(dataType)) {
        throw invalid(`The following data type is not supported: ${dataType} (Data type names are all lowercase.)`);
      }
      if (input.Tier !== undefined && (typeof input.Tier !== 'string' || !TIERS.has(input.Tier))) {
        throw invalid(
          `1 validation error detected: Value '${String(input.Tier)}' at 'tier' failed to satisfy constraint: Member must satisfy enum value set: [Advanced, Intelligent-Tiering, Standard]`,
        );
      }
      // The tier is kept across overwrites; Intelligent-Tiering picks the cheapest tier that holds the value.
      const current = existing?.Tier ?? 'Standard';
      const requested = typeof input.Tier === 'string' ? input.Tier : current;
      const tier =
        requested === 'Intelligent-Tiering'
          ? current === 'Advanced' || input.Value.length > STANDARD_MAX
            ? 'Advanced'
            : 'Standard'
          : requested;
      if (current === 'Advanced' && tier === 'Standard') {
        throw invalid(
          "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.",
        );
      }
      if (input.Value.length > (tier === 'Advanced' ? ADVANCED_MAX : STANDARD_MAX)) {
        throw invalid(
          tier === 'Advanced'
            ? `1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length less than or equal to ${ADVANCED_MAX}`
            : `Standard tier parameters support a maximum parameter value of ${STANDARD_MAX} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html`,
        );
      }
      const p: Parameter = {
        Name: existing?.Name ?? name,
        Type: type,
        Value: input.Value,
        Version: (existing?.Version ?? 0) + 1,
        LastModifiedDate: new Date().toISOString(),
        DataType: dataType,
        Tier: tier,
        ...(typeof input.Description === 'string'
          ? { Description: input.Description }
          : existing?.Description
            ? { Description: existing.Description }
            : {}),
      };
      ctx.store.put(NS, key, p);
      ctx.store.put(`${NS}:history`, `${key}:${p.Version}`, p);
      return { Version: p.Version, Tier: tier };
    },
    DeleteParameter(input: { Name?: unknown }, ctx) {
      const name = requireName(input.Name);
      const key = keyOf(name);
      const p = ctx.store.get<Parameter>(NS, key);
      if (!p) throw new AwsError('ParameterNotFound', `Parameter ${name} not found.`);
      ctx.store.delete(NS, key);
      for (let v = 1; v <= p.Version; v++) ctx.store.delete(`${NS}:history`, `${key}:${v}`);
      return {};
    },
    GetParametersByPath(
      input: { Path?: unknown; Recursive?: unknown; MaxResults?: unknown; NextToken?: unknown },
      ctx,
    ) {
      const path = requireName(input.Path, 'Path');
      if (!path.startsWith('/')) throw new AwsError('ValidationException', 'Path must start with /');
      const prefix = path.endsWith('/') ? path : `${path}/`;
      // Paths compare on the stored key with its leading slash: `foo` is `/foo`, a top-level name under `/`.
      const full = (key: string) => (key.startsWith('/') ? key : `/${key}`);
      const all = ctx.store
        .list<Parameter>(NS)
        .map(([key, p]) => ({ path: full(key), p }))
        .filter(
          ({ path: at }) =>
            at.startsWith(prefix) && (input.Recursive === true || !at.slice(prefix.length).includes('/')),
        )
        .map(({ p }) => p)
        .sort((a, b) => a.Name.localeCompare(b.Name));
      const max = typeof input.MaxResults === 'number' ? Math.min(10, Math.max(1, input.MaxResults)) : 10;
      const start = typeof input.NextToken === 'string' ? Number(input.NextToken) || 0 : 0;
      const page = all.slice(start, start + max);
      return {
        Parameters: page.map((p) => view(ctx, p)),
        ...(start + max < all.length ? { NextToken: String(start + max) } : {}),
      };
    },
  },
};
