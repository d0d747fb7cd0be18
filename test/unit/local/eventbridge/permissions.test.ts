import { describe, expect, it } from 'vitest';
import {
  acceptsFrom,
  policyOf,
  putPermission,
  putPolicyStatement,
  removePermission,
} from '#local/services/eventbridge/permissions';
import { fakeContext } from './fake-context.ts';

const OWN = '123456789012';
const OTHER = '222222222222';

describe('event bus resource policies (local EventBridge)', () => {
  it('accepts the bus account always, another account only with a statement for it', () => {
    const { ctx } = fakeContext();
    expect(acceptsFrom(ctx, 'default', OWN)).toBe(true);
    expect(acceptsFrom(ctx, 'default', OTHER)).toBe(false);
    putPermission({ Action: 'events:PutEvents', Principal: OTHER, StatementId: 'member' }, ctx);
    expect(acceptsFrom(ctx, 'default', OTHER)).toBe(true);
    expect(acceptsFrom(ctx, 'default', '333333333333')).toBe(false);
    expect(policyOf(ctx, 'default')?.Statement).toEqual([
      {
        Sid: 'member',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${OTHER}:root` },
        Action: 'events:PutEvents',
        Resource: `arn:aws:events:us-east-1:${OWN}:event-bus/default`,
      },
    ]);
    removePermission({ StatementId: 'member' }, ctx);
    expect(acceptsFrom(ctx, 'default', OTHER)).toBe(false);
    expect(() => removePermission({ StatementId: 'member' }, ctx)).toThrow('Statement with the provided id');
  });

  it('takes the template statement form (a list of account ids), and never matches a statement with a condition', () => {
    const { ctx } = fakeContext();
    putPolicyStatement(
      {
        EventBusName: 'default',
        StatementId: 'stagecrew-member-accounts',
        Statement: { Effect: 'Allow', Principal: { AWS: [OTHER, '444444444444'] }, Action: 'events:PutEvents' },
      },
      ctx,
    );
    expect(acceptsFrom(ctx, 'default', '444444444444')).toBe(true);
    putPermission(
      {
        Action: 'events:PutEvents',
        Principal: '*',
        StatementId: 'org',
        Condition: { Type: 'StringEquals', Key: 'aws:PrincipalOrgID', Value: 'o-abcdefghij' },
      },
      ctx,
    );
    // Organization conditions are not evaluated locally: that statement admits nobody.
    expect(acceptsFrom(ctx, 'default', '555555555555')).toBe(false);
  });

  it('refuses what EventBridge refuses', () => {
    const { ctx } = fakeContext();
    expect(() => putPermission({ Action: 'events:PutRule', Principal: OTHER, StatementId: 's' }, ctx)).toThrow(
      /not supported/,
    );
    expect(() => putPermission({ Action: 'events:PutEvents', Principal: 'someone', StatementId: 's' }, ctx)).toThrow(
      /Principal is not valid/,
    );
    expect(() => putPermission({ Action: 'events:PutEvents', Principal: OTHER, EventBusName: 'nope' }, ctx)).toThrow(
      'Event bus nope does not exist.',
    );
  });
});
