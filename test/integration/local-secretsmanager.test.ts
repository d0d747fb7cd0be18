/**
 * Local Secrets Manager through the AWS SDK, as the Secrets Manager API reference describes each operation: what a
 * user rotating Stagecrew's link key or Slack token does (update, describe with tags, list) and the deletion life
 * cycle (a recovery window during which the secret can be described and restored, nothing else; or a forced delete).
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../helpers/local-cloud.ts';

let t: TestCloud;
let sm: SecretsManagerClient;

beforeAll(async () => {
  t = await startTestCloud();
  sm = new SecretsManagerClient(t.clientConfig);
});
afterAll(async () => {
  sm?.destroy();
  await t?.stop();
});

describe('local Secrets Manager', () => {
  it('updates a secret (new AWSCURRENT version, description) and describes it with its tags', async () => {
    const created = await sm.send(
      new CreateSecretCommand({
        Name: 'sm-rotate',
        SecretString: JSON.stringify({ linkSigningKey: 'a'.repeat(32) }),
        Tags: [{ Key: 'app', Value: 'stagecrew' }],
      }),
    );
    const updated = await sm.send(
      new UpdateSecretCommand({
        SecretId: 'sm-rotate',
        Description: 'link keys',
        SecretString: JSON.stringify({ linkSigningKey: 'b'.repeat(32) }),
      }),
    );
    expect(updated.ARN).toBe(created.ARN);
    expect(updated.VersionId).toBeDefined();
    const value = await sm.send(new GetSecretValueCommand({ SecretId: 'sm-rotate' }));
    expect(JSON.parse(value.SecretString ?? '{}').linkSigningKey).toBe('b'.repeat(32));
    expect(value.VersionId).toBe(updated.VersionId);
    const previous = await sm.send(new GetSecretValueCommand({ SecretId: 'sm-rotate', VersionStage: 'AWSPREVIOUS' }));
    expect(previous.VersionId).toBe(created.VersionId);

    const described = await sm.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect(described).toMatchObject({
      Name: 'sm-rotate',
      Description: 'link keys',
      Tags: [{ Key: 'app', Value: 'stagecrew' }],
    });
    expect(described.VersionIdsToStages?.[updated.VersionId as string]).toEqual(['AWSCURRENT']);

    await sm.send(new TagResourceCommand({ SecretId: 'sm-rotate', Tags: [{ Key: 'team', Value: 'platform' }] }));
    await sm.send(new UntagResourceCommand({ SecretId: 'sm-rotate', TagKeys: ['app'] }));
    expect((await sm.send(new DescribeSecretCommand({ SecretId: 'sm-rotate' }))).Tags).toEqual([
      { Key: 'team', Value: 'platform' },
    ]);
  });

  it('lists secrets with filters and pages', async () => {
    for (const name of ['sm-list/a', 'sm-list/b', 'sm-list/c']) {
      await sm.send(
        new CreateSecretCommand({ Name: name, SecretString: 'x', Tags: [{ Key: 'group', Value: 'list' }] }),
      );
    }
    const first = await sm.send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['sm-list/'] }], MaxResults: 2 }),
    );
    expect(first.SecretList?.map((s) => s.Name)).toEqual(['sm-list/a', 'sm-list/b']);
    expect(first.NextToken).toBeDefined();
    const second = await sm.send(
      new ListSecretsCommand({
        Filters: [{ Key: 'name', Values: ['sm-list/'] }],
        MaxResults: 2,
        NextToken: first.NextToken,
      }),
    );
    expect(second.SecretList?.map((s) => s.Name)).toEqual(['sm-list/c']);
    expect(second.NextToken).toBeUndefined();
    const byTag = await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'tag-value', Values: ['list'] }] }));
    expect(byTag.SecretList).toHaveLength(3);
    expect(byTag.SecretList?.[0]?.SecretVersionsToStages).toBeDefined();
  });

  it('schedules a deletion: the secret can be described and restored, not read; a forced delete is immediate', async () => {
    await sm.send(new CreateSecretCommand({ Name: 'sm-delete', SecretString: 'v1' }));
    await expect(
      sm.send(new DeleteSecretCommand({ SecretId: 'sm-delete', RecoveryWindowInDays: 3 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(
      sm.send(
        new DeleteSecretCommand({ SecretId: 'sm-delete', RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });

    const scheduled = await sm.send(new DeleteSecretCommand({ SecretId: 'sm-delete', RecoveryWindowInDays: 7 }));
    const days = ((scheduled.DeletionDate?.getTime() ?? 0) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThan(7.1);
    await expect(sm.send(new GetSecretValueCommand({ SecretId: 'sm-delete' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
    await expect(sm.send(new UpdateSecretCommand({ SecretId: 'sm-delete', SecretString: 'v2' }))).rejects.toMatchObject(
      { name: 'InvalidRequestException' },
    );
    expect((await sm.send(new DescribeSecretCommand({ SecretId: 'sm-delete' }))).DeletedDate).toBeInstanceOf(Date);
    const names = async (include: boolean) =>
      (await sm.send(new ListSecretsCommand({ IncludePlannedDeletion: include }))).SecretList?.map((s) => s.Name);
    expect(await names(false)).not.toContain('sm-delete');
    expect(await names(true)).toContain('sm-delete');

    await sm.send(new RestoreSecretCommand({ SecretId: 'sm-delete' }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'sm-delete' }))).SecretString).toBe('v1');

    await sm.send(new DeleteSecretCommand({ SecretId: 'sm-delete', ForceDeleteWithoutRecovery: true }));
    await expect(sm.send(new DescribeSecretCommand({ SecretId: 'sm-delete' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    // The name is free again.
    await sm.send(new CreateSecretCommand({ Name: 'sm-delete', SecretString: 'again' }));
  });
});
