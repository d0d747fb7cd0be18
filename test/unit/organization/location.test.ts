import { describe, expect, it } from 'vitest';
import { NotAMemberAccountError } from '#core/organization/errors';
import {
  accessTo,
  gatewayAt,
  locationOfArn,
  memberRoleArn,
  sessionName,
  sourceIdentity,
  sweepLocations,
} from '#core/organization/location';

const home = { accountId: '111111111111', region: 'us-east-1' };
const org = { accounts: ['222222222222'], regions: [], roleName: 'stagecrew-member', externalId: 'ext-1' };

describe('where a resource lives', () => {
  it('reads account and region from an ARN, and nothing from a global or malformed one', () => {
    expect(
      locationOfArn('arn:aws:cloudformation:eu-west-1:222222222222:stack/test-1/0a1b2c3d-0000-1111-2222-333344445555'),
    ).toEqual({ accountId: '222222222222', region: 'eu-west-1' });
    expect(locationOfArn('arn:aws-cn:codepipeline:cn-north-1:222222222222:shop')).toEqual({
      accountId: '222222222222',
      region: 'cn-north-1',
    });
    expect(locationOfArn('arn:aws:iam::222222222222:role/x')).toBeUndefined();
    expect(locationOfArn('name:test-1')).toBeUndefined();
  });

  it('acts at home with its own credentials, in a listed member account through its role, nowhere else', () => {
    expect(accessTo(home, home, org)).toEqual({ kind: 'home' });
    expect(accessTo({ accountId: '222222222222', region: 'eu-west-1' }, home, org)).toEqual({
      kind: 'member',
      roleName: 'stagecrew-member',
      externalId: 'ext-1',
    });
    expect(() => accessTo({ accountId: '333333333333', region: 'us-east-1' }, home, org)).toThrow(
      NotAMemberAccountError,
    );
    // The hub's own account in another region: only when listed (its own policies are scoped to its region).
    expect(() => accessTo({ ...home, region: 'eu-west-1' }, home, org)).toThrow(NotAMemberAccountError);
    expect(accessTo({ ...home, region: 'eu-west-1' }, home, { ...org, accounts: [home.accountId] }).kind).toBe(
      'member',
    );
  });

  it('names sessions after what Stagecrew does (and who decided) in STS alphabet and length', () => {
    expect(sessionName('teardown')).toBe('stagecrew-teardown');
    expect(sessionName('approval', 'email:ana@example.com')).toBe('stagecrew-approval-email-ana@example.com');
    const long = sessionName('approval', `email:${'a'.repeat(80)}@example.com`);
    expect(long.length).toBe(64);
    expect(long).toMatch(/^[\w+=,.@-]{2,64}$/);
    expect(sessionName('approval', 'slack:U0 <script>')).toMatch(/^[\w+=,.@-]+$/);
    expect(sourceIdentity('slack:U0123ABC')).toBe('slack-U0123ABC');
    expect(sourceIdentity('x')).toBeUndefined();
    expect(memberRoleArn('222222222222', 'cn-north-1', 'stagecrew-member')).toBe(
      'arn:aws-cn:iam::222222222222:role/stagecrew-member',
    );
  });

  it('sweeps home first, then every member account in every region, each once', () => {
    expect(sweepLocations(home, { accounts: [], regions: [] })).toEqual([home]);
    expect(
      sweepLocations(home, { accounts: ['222222222222', '222222222222'], regions: ['us-east-1', 'eu-west-1'] }),
    ).toEqual([
      home,
      { accountId: '222222222222', region: 'us-east-1' },
      { accountId: '222222222222', region: 'eu-west-1' },
    ]);
    // The hub's own account elsewhere only when listed.
    expect(sweepLocations(home, { accounts: [home.accountId], regions: ['us-east-1', 'eu-west-1'] })).toEqual([
      home,
      { ...home, region: 'eu-west-1' },
    ]);
  });

  it('picks the gateway where the resource lives', async () => {
    const own = { name: 'own' };
    const asked: unknown[] = [];
    const elsewhere = async (where: unknown) => {
      asked.push(where);
      return { name: 'member' };
    };
    expect(await gatewayAt({ region: 'eu-west-1' }, { home, own, elsewhere })).toBe(own);
    expect(await gatewayAt({ ...home }, { home, own, elsewhere })).toBe(own);
    expect(await gatewayAt({ accountId: '222222222222', region: 'eu-west-1' }, { own, elsewhere })).toBe(own);
    expect((await gatewayAt({ accountId: '222222222222', region: 'eu-west-1' }, { home, own, elsewhere })).name).toBe(
      'member',
    );
    expect(asked).toEqual([{ accountId: '222222222222', region: 'eu-west-1' }]);
    await expect(gatewayAt({ accountId: '222222222222', region: 'eu-west-1' }, { home, own })).rejects.toThrow(
      NotAMemberAccountError,
    );
  });
});
