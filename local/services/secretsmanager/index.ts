import { createHash, randomUUID } from 'node:crypto';
import { AwsError, type JsonService, type LocalContext } from '../types.ts';

/**
 * Secrets Manager (awsJson 1.1, `secretsmanager.*`): create, read, put a new version, update, describe, list, tag,
 * delete (scheduled with a recovery window, or forced) and restore. A secret scheduled for deletion can be described,
 * listed (with IncludePlannedDeletion) and restored, nothing else (InvalidRequestException); after its deletion date
 * it is gone. Sources: the Secrets Manager API reference for each operation.
 */
type Version = {
  VersionId: string;
  SecretString?: string;
  SecretBinary?: string;
  CreatedDate: string;
  Stages: string[];
};
type Tag = { Key: string; Value: string };
type Secret = {
  Name: string;
  ARN: string;
  Description?: string;
  CreatedDate: string;
  LastChangedDate: string;
  Versions: Version[];
  Tags?: Tag[];
  /** When the secret was scheduled for deletion, and when it will be deleted. */
  DeletedDate?: string;
  DeletionDate?: string;
};

const NS = 'secretsmanager:secrets';

export const secretArn = (ctx: Pick<LocalContext, 'region' | 'accountId'>, name: string): string => {
  const suffix = createHash('sha256').update(name).digest('base64url').replace(/[-_]/g, 'x').slice(0, 6);
  return `arn:aws:secretsmanager:${ctx.region}:${ctx.accountId}:secret:${name}-${suffix}`;
};

const notFound = () => new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");

/** Secrets whose deletion date has passed are deleted now (Secrets Manager does it some time after that date). */
const purgeExpired = (ctx: LocalContext): void => {
  const now = Date.now();
  for (const [name, secret] of ctx.store.list<Secret>(NS)) {
    if (secret.DeletionDate !== undefined && Date.parse(secret.DeletionDate) <= now) ctx.store.delete(NS, name);
  }
};

/** A secret by name, full ARN or partial ARN; `usable` refuses one scheduled for deletion. */
const lookup = (ctx: LocalContext, id: unknown, usable = true): Secret => {
  if (typeof id !== 'string' || id === '') throw new AwsError('InvalidParameterException', 'SecretId is required');
  purgeExpired(ctx);
  // A full ARN, or a partial ARN without the random 6-character suffix.
  const secret =
    ctx.store.get<Secret>(NS, id) ??
    ctx.store.list<Secret>(NS).find(([, s]) => s.ARN === id || s.ARN.slice(0, -7) === id)?.[1];
  if (!secret) throw notFound();
  if (usable && secret.DeletedDate !== undefined) {
    throw new AwsError(
      'InvalidRequestException',
      "You can't perform this operation on the secret because it was marked for deletion.",
    );
  }
  return secret;
};

const parseTags = (raw: unknown): Tag[] => {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new AwsError('InvalidParameterException', 'Tags must be a list of Key/Value pairs.');
  return raw.map((t: { Key?: unknown; Value?: unknown }) => {
    if (typeof t?.Key !== 'string' || t.Key.length < 1 || t.Key.length > 128) {
      throw new AwsError('InvalidParameterException', 'Invalid tag key: keys are 1-128 characters.');
    }
    const value = t.Value ?? '';
    if (typeof value !== 'string' || value.length > 256) {
      throw new AwsError('InvalidParameterException', 'Invalid tag value: values are at most 256 characters.');
    }
    return { Key: t.Key, Value: value };
  });
};

const mergeTags = (current: Tag[] = [], added: Tag[]): Tag[] => {
  const byKey = new Map(current.map((t) => [t.Key, t.Value]));
  for (const t of added) byKey.set(t.Key, t.Value);
  if (byKey.size > 50) throw new AwsError('InvalidParameterException', 'A secret can have at most 50 tags.');
  return [...byKey].map(([Key, Value]) => ({ Key, Value }));
};

/** The shape DescribeSecret and ListSecrets share. */
const summary = (secret: Secret) => ({
  ARN: secret.ARN,
  Name: secret.Name,
  ...(secret.Description ? { Description: secret.Description } : {}),
  CreatedDate: new Date(secret.CreatedDate),
  LastChangedDate: new Date(secret.LastChangedDate),
  ...(secret.DeletedDate ? { DeletedDate: new Date(secret.DeletedDate) } : {}),
  ...(secret.Tags && secret.Tags.length > 0 ? { Tags: secret.Tags } : {}),
});

const FILTER_KEYS = new Set(['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all']);

/** ListSecrets filters: values within one filter are ORed, filters are ANDed; prefix match, `!` negates. */
const matches = (secret: Secret, filters: Array<{ Key: string; Values: string[] }>): boolean =>
  filters.every((f) =>
    f.Values.some((raw) => {
      const negate = raw.startsWith('!');
      const value = (negate ? raw.slice(1) : raw).toLowerCase();
      const fields =
        f.Key === 'name'
          ? [secret.Name]
          : f.Key === 'description'
            ? [secret.Description ?? '']
            : f.Key === 'tag-key'
              ? (secret.Tags ?? []).map((t) => t.Key)
              : f.Key === 'tag-value'
                ? (secret.Tags ?? []).map((t) => t.Value)
                : f.Key === 'all'
                  ? [secret.Name, secret.Description ?? '', ...(secret.Tags ?? []).flatMap((t) => [t.Key, t.Value])]
                  : [];
      const hit = fields.some((v) => v.toLowerCase().startsWith(value));
      return negate ? !hit : hit;
    }),
  );

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
        Tags?: unknown;
      },
      ctx,
    ) {
      purgeExpired(ctx);
      if (typeof input.Name !== 'string' || !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(input.Name)) {
        throw new AwsError('InvalidParameterException', 'Name must be 1-512 characters of A-Z a-z 0-9 /_+=.@-');
      }
      const existing = ctx.store.get<Secret>(NS, input.Name);
      if (existing?.DeletedDate !== undefined) {
        throw new AwsError(
          'InvalidRequestException',
          `You can't create this secret because a secret with this name is already scheduled for deletion.`,
        );
      }
      if (existing) {
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
      const tags = mergeTags([], parseTags(input.Tags));
      if (tags.length > 0) secret.Tags = tags;
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
      const secret = lookup(ctx, input.SecretId, false);
      return {
        ...summary(secret),
        VersionIdsToStages: Object.fromEntries(secret.Versions.map((v) => [v.VersionId, v.Stages])),
      };
    },
    UpdateSecret(
      input: {
        SecretId?: unknown;
        Description?: unknown;
        SecretString?: unknown;
        SecretBinary?: unknown;
        ClientRequestToken?: unknown;
      },
      ctx,
    ) {
      const secret = lookup(ctx, input.SecretId);
      if (typeof input.Description === 'string') secret.Description = input.Description;
      let versionId: string | undefined;
      if (input.SecretString !== undefined || input.SecretBinary !== undefined) {
        versionId = addVersion(secret, input, input.ClientRequestToken).VersionId;
      } else {
        secret.LastChangedDate = new Date().toISOString();
      }
      ctx.store.put(NS, secret.Name, secret);
      return { ARN: secret.ARN, Name: secret.Name, ...(versionId ? { VersionId: versionId } : {}) };
    },
    DeleteSecret(
      input: { SecretId?: unknown; RecoveryWindowInDays?: unknown; ForceDeleteWithoutRecovery?: unknown },
      ctx,
    ) {
      const force = input.ForceDeleteWithoutRecovery === true;
      if (force && input.RecoveryWindowInDays !== undefined && input.RecoveryWindowInDays !== null) {
        throw new AwsError(
          'InvalidParameterException',
          "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        );
      }
      const secret = lookup(ctx, input.SecretId, force);
      const now = new Date();
      if (force) {
        ctx.store.delete(NS, secret.Name);
        return { ARN: secret.ARN, Name: secret.Name, DeletionDate: now };
      }
      if (secret.DeletedDate !== undefined) {
        throw new AwsError(
          'InvalidRequestException',
          "You can't perform this operation on the secret because it was marked for deletion.",
        );
      }
      const days = input.RecoveryWindowInDays ?? 30;
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 7 || days > 30) {
        throw new AwsError(
          'InvalidParameterException',
          'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).',
        );
      }
      secret.DeletedDate = now.toISOString();
      secret.DeletionDate = new Date(now.getTime() + days * 86_400_000).toISOString();
      ctx.store.put(NS, secret.Name, secret);
      return { ARN: secret.ARN, Name: secret.Name, DeletionDate: new Date(secret.DeletionDate) };
    },
    RestoreSecret(input: { SecretId?: unknown }, ctx) {
      const secret = lookup(ctx, input.SecretId, false);
      delete secret.DeletedDate;
      delete secret.DeletionDate;
      ctx.store.put(NS, secret.Name, secret);
      return { ARN: secret.ARN, Name: secret.Name };
    },
    ListSecrets(
      input: {
        MaxResults?: unknown;
        NextToken?: unknown;
        Filters?: unknown;
        IncludePlannedDeletion?: unknown;
        SortOrder?: unknown;
      },
      ctx,
    ) {
      purgeExpired(ctx);
      const max = input.MaxResults ?? 100;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) {
        throw new AwsError('InvalidParameterException', 'MaxResults must be between 1 and 100.');
      }
      const filters = (Array.isArray(input.Filters) ? input.Filters : []) as Array<{ Key?: unknown; Values?: unknown }>;
      for (const f of filters) {
        if (typeof f.Key !== 'string' || !FILTER_KEYS.has(f.Key) || !Array.isArray(f.Values) || f.Values.length === 0) {
          throw new AwsError('InvalidParameterException', 'Invalid filter key or values.');
        }
      }
      const secrets = ctx.store
        .list<Secret>(NS)
        .map(([, secret]) => secret)
        .filter((secret) => input.IncludePlannedDeletion === true || secret.DeletedDate === undefined)
        .filter((secret) => matches(secret, filters as Array<{ Key: string; Values: string[] }>))
        .sort((a, b) => a.CreatedDate.localeCompare(b.CreatedDate) || a.Name.localeCompare(b.Name));
      if (input.SortOrder === 'desc') secrets.reverse();
      const start = typeof input.NextToken === 'string' && input.NextToken !== '' ? Number(input.NextToken) : 0;
      if (!Number.isInteger(start) || start < 0 || start > secrets.length) {
        throw new AwsError('InvalidNextTokenException', 'The NextToken value is invalid.');
      }
      const page = secrets.slice(start, start + max);
      return {
        SecretList: page.map((secret) => ({
          ...summary(secret),
          SecretVersionsToStages: Object.fromEntries(secret.Versions.map((v) => [v.VersionId, v.Stages])),
        })),
        ...(start + max < secrets.length ? { NextToken: String(start + max) } : {}),
      };
    },
    TagResource(input: { SecretId?: unknown; Tags?: unknown }, ctx) {
      const secret = lookup(ctx, input.SecretId, false);
      secret.Tags = mergeTags(secret.Tags, parseTags(input.Tags));
      ctx.store.put(NS, secret.Name, secret);
      return {};
    },
    UntagResource(input: { SecretId?: unknown; TagKeys?: unknown }, ctx) {
      const secret = lookup(ctx, input.SecretId, false);
      if (!Array.isArray(input.TagKeys)) throw new AwsError('InvalidParameterException', 'TagKeys is required.');
      const drop = new Set(input.TagKeys);
      secret.Tags = (secret.Tags ?? []).filter((t) => !drop.has(t.Key));
      ctx.store.put(NS, secret.Name, secret);
      return {};
    },
  },
};
