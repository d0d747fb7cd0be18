import { describe, expect, it } from 'vitest';
import { actionContext } from '#local/services/codepipeline/engine/actions';
import type { ActionDeclaration } from '#local/services/codepipeline/model';
import type { LocalContext } from '#local/services/types';

/** Where a pipeline action works: its own region, and the account of its roleArn (CodePipeline assumes that role). */
const home = (): LocalContext & { asked: string[] } => {
  const asked: string[] = [];
  const ctx = {
    region: 'us-east-1',
    accountId: '111111111111',
    asked,
    partition: (account: string, region: string) => {
      asked.push(`${account}/${region}`);
      return { ...ctx, accountId: account, region } as LocalContext;
    },
  } as unknown as LocalContext & { asked: string[] };
  return ctx;
};

const action = (extra: Partial<ActionDeclaration>): ActionDeclaration =>
  ({
    name: 'DeployTest',
    actionTypeId: { category: 'Deploy', owner: 'AWS', provider: 'CloudFormation', version: '1' },
    configuration: {},
    ...extra,
  }) as ActionDeclaration;

describe('actionContext', () => {
  it('runs an action without region or roleArn in the pipeline own account and region', () => {
    const ctx = home();
    expect(actionContext(ctx, action({}))).toBe(ctx);
    expect(actionContext(ctx, action({ roleArn: 'arn:aws:iam::111111111111:role/deploy', region: 'us-east-1' }))).toBe(
      ctx,
    );
    expect(ctx.asked).toEqual([]);
  });

  it('runs a cross-account, cross-region action in the role account and the action region', () => {
    const ctx = home();
    const there = actionContext(ctx, action({ roleArn: 'arn:aws:iam::222222222222:role/deploy', region: 'eu-west-1' }));
    expect([there.accountId, there.region]).toEqual(['222222222222', 'eu-west-1']);
    expect(actionContext(ctx, action({ region: 'eu-central-1' })).accountId).toBe('111111111111');
    expect(ctx.asked).toEqual(['222222222222/eu-west-1', '111111111111/eu-central-1']);
  });

  it('stays home when the context knows no other partitions (a hand-built context)', () => {
    const ctx = { region: 'us-east-1', accountId: '111111111111' } as LocalContext;
    expect(actionContext(ctx, action({ region: 'eu-west-1' }))).toBe(ctx);
  });
});
