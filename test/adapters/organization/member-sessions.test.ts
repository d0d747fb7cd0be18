import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { MemberSessions } from '#core/adapters/member-sessions';
import { PermissionError, UnavailableError } from '#core/errors';

const sts = mockClient(STSClient);
afterEach(() => sts.reset());

const ROLE = 'arn:aws:iam::222222222222:role/stagecrew-member';
const expiration = new Date('2026-12-04T12:15:00Z');

describe('MemberSessions (STS AssumeRole)', () => {
  it('assumes the member role for 15 minutes with the external id and the session name, no source identity', async () => {
    sts.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'ASIA1', SecretAccessKey: 's', SessionToken: 't', Expiration: expiration },
    });
    const out = await new MemberSessions(new STSClient({ region: 'us-east-1' })).assume({
      roleArn: ROLE,
      sessionName: 'stagecrew-teardown',
      externalId: 'ext-1',
    });
    expect(out).toEqual({ accessKeyId: 'ASIA1', secretAccessKey: 's', sessionToken: 't', expiration });
    expect(sts).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: ROLE,
      RoleSessionName: 'stagecrew-teardown',
      DurationSeconds: 900,
      ExternalId: 'ext-1',
    });
    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).not.toHaveProperty('SourceIdentity');
  });

  it('carries the approver as the source identity of a decision session', async () => {
    sts.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'ASIA1', SecretAccessKey: 's', SessionToken: 't', Expiration: expiration },
    });
    await new MemberSessions(new STSClient({ region: 'us-east-1' })).assume({
      roleArn: ROLE,
      sessionName: 'stagecrew-approval-email-ana@example.com',
      sourceIdentity: 'email-ana@example.com',
    });
    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toEqual({
      RoleArn: ROLE,
      RoleSessionName: 'stagecrew-approval-email-ana@example.com',
      DurationSeconds: 900,
      SourceIdentity: 'email-ana@example.com',
    });
  });

  it('turns a refusal into PermissionError and throttling into UnavailableError, naming role and session', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform: sts:AssumeRole'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    sts.on(AssumeRoleCommand).rejects(denied);
    const sessions = new MemberSessions(new STSClient({ region: 'us-east-1', maxAttempts: 1 }));
    const refused = await sessions.assume({ roleArn: ROLE, sessionName: 'stagecrew-sweep' }).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(PermissionError);
    expect((refused as Error).message).toBe(`AssumeRole ${ROLE} as stagecrew-sweep: access denied`);
    sts.reset();
    sts
      .on(AssumeRoleCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }));
    await expect(sessions.assume({ roleArn: ROLE, sessionName: 'stagecrew-sweep' })).rejects.toBeInstanceOf(
      UnavailableError,
    );
  });

  it('refuses an answer without credentials', async () => {
    sts.on(AssumeRoleCommand).resolves({});
    await expect(
      new MemberSessions(new STSClient({ region: 'us-east-1' })).assume({ roleArn: ROLE, sessionName: 'x1' }),
    ).rejects.toThrow('AssumeRole answered without credentials');
  });
});
