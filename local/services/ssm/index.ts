import { AwsError, type JsonService, type LocalContext } from '../types.ts';

/** SSM Parameter Store (awsJson 1.1, `AmazonSSM.*`): the operations Stagecrew's settings need. */
type Parameter = {
  Name: string;
  Type: string;
  Value: string;
  Version: number;
  LastModifiedDate: string;
  DataType: string;
  Description?: string;
};

const NS = 'ssm:parameters';
const TYPES = new Set(['String', 'StringList', 'SecureString']);

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
  if (version === undefined) return ctx.store.get<Parameter>(NS, name);
  return ctx.store.get<Parameter>(`${NS}:history`, `${name}:${version}`);
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
        throw new AwsError('ValidationException', 'Names must hold between 1 and 10 parameter names');
      }
      const Parameters = [];
      const InvalidParameters = [];
      for (const raw of input.Names) {
        const p = typeof raw === 'string' ? find(ctx, raw) : undefined;
        if (p) Parameters.push(view(ctx, p));
        else InvalidParameters.push(String(raw));
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
      },
      ctx,
    ) {
      const name = requireName(input.Name);
      if (typeof input.Value !== 'string' || input.Value.length === 0) {
        throw new AwsError('ValidationException', 'Value must be a non-empty string');
      }
      if (input.Value.length > 8192) throw new AwsError('ValidationException', 'Value exceeds 8192 characters');
      const existing = ctx.store.get<Parameter>(NS, name);
      if (existing && input.Overwrite !== true) {
        throw new AwsError(
          'ParameterAlreadyExists',
          'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
        );
      }
      const type = input.Type === undefined ? (existing?.Type ?? 'String') : String(input.Type);
      if (!TYPES.has(type)) throw new AwsError('ValidationException', `Type must be one of ${[...TYPES].join(', ')}`);
      const p: Parameter = {
        Name: name,
        Type: type,
        Value: input.Value,
        Version: (existing?.Version ?? 0) + 1,
        LastModifiedDate: new Date().toISOString(),
        DataType: typeof input.DataType === 'string' ? input.DataType : 'text',
        ...(typeof input.Description === 'string' ? { Description: input.Description } : {}),
      };
      ctx.store.put(NS, name, p);
      ctx.store.put(`${NS}:history`, `${name}:${p.Version}`, p);
      return { Version: p.Version, Tier: 'Standard' };
    },
    DeleteParameter(input: { Name?: unknown }, ctx) {
      const name = requireName(input.Name);
      if (!ctx.store.get(NS, name)) throw new AwsError('ParameterNotFound', `Parameter ${name} not found.`);
      ctx.store.delete(NS, name);
      return {};
    },
    GetParametersByPath(
      input: { Path?: unknown; Recursive?: unknown; MaxResults?: unknown; NextToken?: unknown },
      ctx,
    ) {
      const path = requireName(input.Path, 'Path');
      if (!path.startsWith('/')) throw new AwsError('ValidationException', 'Path must start with /');
      const prefix = path.endsWith('/') ? path : `${path}/`;
      const all = ctx.store
        .list<Parameter>(NS)
        .map(([, p]) => p)
        .filter(
          (p) => p.Name.startsWith(prefix) && (input.Recursive === true || !p.Name.slice(prefix.length).includes('/')),
        )
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
