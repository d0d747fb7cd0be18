import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { toDomainError } from '../errors.ts';

export { STSClient };

/** Temporary credentials as SDK v3 clients take them (a provider returning these is refreshed before `expiration`). */
export type SessionCredentials = {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
};

export type AssumeRequest = {
  roleArn: string;
  sessionName: string;
  externalId?: string;
  /** Set on approval sessions: the approver, recorded by CloudTrail on every call of the session. */
  sourceIdentity?: string;
};

/**
 * STS for the hub: a member account's role (member.yaml) assumed for one purpose. Sessions last 15 minutes (the
 * minimum; SDK clients ask again five minutes before they expire), so a credential never outlives its use by much.
 * Errors: AccessDenied (the role's trust policy refused: wrong external id, not a hub role) → PermissionError;
 * throttling after the SDK's retries → UnavailableError.
 */
export class MemberSessions {
  readonly #sts: STSClient;

  constructor(sts: STSClient) {
    this.#sts = sts;
  }

  async assume(r: AssumeRequest): Promise<SessionCredentials> {
    try {
      const out = await this.#sts.send(
        new AssumeRoleCommand({
          RoleArn: r.roleArn,
          RoleSessionName: r.sessionName,
          DurationSeconds: 900,
          ...(r.externalId ? { ExternalId: r.externalId } : {}),
          ...(r.sourceIdentity ? { SourceIdentity: r.sourceIdentity } : {}),
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
        throw new Error('AssumeRole answered without credentials');
      }
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
      };
    } catch (err) {
      throw toDomainError(err, `AssumeRole ${r.roleArn} as ${r.sessionName}`);
    }
  }
}
