import { createHash, randomUUID } from 'node:crypto';
import { AwsError, type JsonService, type LocalContext } from '../types.ts';

/** Secrets Manager (awsJson 1.1, `secretsmanager.*`): create, read, put a new version, describe. */
type Version = {
  VersionId: string;
  SecretString?: string;
  SecretBinary?: string;
  CreatedDate: string;
  Stages: string[];
};
type Secret = {
  Name: string;
  ARN: string;
  Description?: string;
  CreatedDate: string;
  LastChangedDate: string;
  Versions: Version[];
};

const NS = 'secretsmanager:secrets';

export const secretArn = (ctx: Pick<LocalContext, 'region' | 'accountId'>, name: string): string => {
  const suffix = createHash('sha256').update(name).digest('base64url').replace(/[-_]/g, 'x').slice(0, 6);
  return `arn:aws:secretsmanager:${ctx.region}:${ctx.accountId}:secret:${name}-${suffix}`;
};

const lookup = (ctx: LocalContext, id: unknown): Secret => {
  if (typeof id !== 'string' || id === '') throw new AwsError('InvalidParameterException', 'SecretId is required');
  const byName = ctx.store.get<Secret>(NS, id);
  if (byName) return byName;
  // A full ARN, or a partial ARN without the random 6-character suffix.
  const byArn = ctx.store.list<Secret>(NS).find(([, s]) => s.ARN === id || s.ARN.slice(0, -7) === id);
  if (byArn) return byArn[1];
  throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
};

const addVersion = (
  secret: Secret,
  value: { SecretString?: unknown; SecretBinary?: unknown },
  token?: unknown,
): Version => {
  const hasString = typeof value.SecretString === 'string';
  const hasBinary = typeof value.SecretBinary === 'string';
  if (hasString === hasBinary) {
    throw new AwsError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
  }
  const versionId = typeof token === 'string' && token !== '' ? token : randomUUID();
  const existing = secret.Versions.find((v) => v.VersionId === versionId);
  if (existing) {
    if (existing.SecretString !== value.SecretString || existing.SecretBinary !== value.SecretBinary) {
      throw new AwsError(
        'ResourceExistsException',
        'A version with this ClientRequestToken already exists with different content.',
      );
    }
    return existing; // idempotent retry
  }
  for (const v of secret.Versions) {
    v.Stages = v.Stages.filter((s) => s !== 'AWSPREVIOUS').map((s) => (s === 'AWSCURRENT' ? 'AWSPREVIOUS' : s));
  }
  secret.Versions = secret.Versions.filter((v) => v.Stages.length > 0).slice(-99);
  const version: Version = {
    VersionId: versionId,
    ...(hasString ? { SecretString: value.SecretString as string } : { SecretBinary: value.SecretBinary as string }),
    CreatedDate: new Date().toISOString(),
    Stages: ['AWSCURRENT'],
  };
  secret.Versions.push(version);
  secret.LastChangedDate = version.CreatedDate;
  return version;
};

export const service: JsonService = {
  protocol: 'json',
  id: 'secretsmanager',
  targetPrefix: 'secretsmanager',
  signingName: 'secretsmanager',
  jsonVersion: '1.1',
  operations: {
    CreateSecret(
      input: {
        Name?: unknown;
        Description?: unknown;
        SecretString?: unknown;
        SecretBinary?: unknown;
        ClientRequestToken?: unknown;
      },
      ctx,
    ) {
      if (typeof input.Name !== 'string' || !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(input.Name)) {
        throw new AwsError('InvalidParameterException', 'Name must be 1-512 characters of A-Z a-z 0-9 /_+=.@-');
      }
      if (ctx.store.get(NS, input.Name)) {
        throw new AwsError(
          'ResourceExistsException',
          `The operation failed because the secret ${input.Name} already exists.`,
        );
      }
      const now = new Date().toISOString();
      const secret: Secret = {
        Name: input.Name,
        ARN: secretArn(ctx, input.Name),
        CreatedDate: now,
        LastChangedDate: now,
        Versions: [],
        ...(typeof input.Description === 'string' ? { Description: input.Description } : {}),
      };
      let versionId: string | undefined;
      if (input.SecretString !== undefined || input.SecretBinary !== undefined) {
        versionId = addVersion(secret, input, input.ClientRequestToken).VersionId;
      }
      ctx.store.put(NS, secret.Name, secret);
      return { ARN: secret.ARN, Name: secret.Name, ...(versionId ? { VersionId: versionId } : {}) };
    },
    GetSecretValue(input: { SecretId?: unknown; VersionId?: unknown; VersionStage?: unknown }, ctx) {
      const secret = lookup(ctx, input.SecretId);
      const version =
        typeof input.VersionId === 'string'
          ? secret.Versions.find((v) => v.VersionId === input.VersionId)
          : secret.Versions.find((v) =>
              v.Stages.includes(typeof input.VersionStage === 'string' ? input.VersionStage : 'AWSCURRENT'),
            );
      if (!version) {
        throw new AwsError(
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
        );
      }
      return {
        ARN: secret.ARN,
        Name: secret.Name,
        VersionId: version.VersionId,
        ...(version.SecretString !== undefined ? { SecretString: version.SecretString } : {}),
        ...(version.SecretBinary !== undefined ? { SecretBinary: version.SecretBinary } : {}),
        VersionStages: version.Stages,
        CreatedDate: new Date(version.CreatedDate),
      };
    },
    PutSecretValue(
      input: { SecretId?: unknown; SecretString?: unknown; SecretBinary?: unknown; ClientRequestToken?: unknown },
      ctx,
    ) {
      const secret = lookup(ctx, input.SecretId);
      const version = addVersion(secret, input, input.ClientRequestToken);
      ctx.store.put(NS, secret.Name, secret);
      return { ARN: secret.ARN, Name: secret.Name, VersionId: version.VersionId, VersionStages: version.Stages };
    },
    DescribeSecret(input: { SecretId?: unknown }, ctx) {
      const secret = lookup(ctx, input.SecretId);
      return {
        ARN: secret.ARN,
        Name: secret.Name,
        ...(secret.Description ? { Description: secret.Description } : {}),
        CreatedDate: new Date(secret.CreatedDate),
        LastChangedDate: new Date(secret.LastChangedDate),
        VersionIdsToStages: Object.fromEntries(secret.Versions.map((v) => [v.VersionId, v.Stages])),
      };
    },
  },
};
