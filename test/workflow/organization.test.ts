/**
 * Teardown across accounts and regions (docs/ORGANIZATION.md), through the real state machine: a stack in a member
 * account is inspected, deleted and remediated there (through the member role: `elsewhere`), a stack in an account
 * the settings do not list is never looked at, and the settings' allow rules never reach into member accounts.
 */
import { describe, expect, it } from 'vitest';
import { parseSettings } from '#core/settings';
import {
  EXECUTION,
  executionInput,
  newWorld,
  outcomeOf,
  ownerTags,
  PIPELINE,
  runTeardown,
  stackArn,
  type World,
} from './harness.ts';

const HOME = { accountId: '123456789012', region: 'us-east-1' };
const MEMBER = '222222222222';
const STRANGER = '333333333333';

const organizationWorld = (teardown: Record<string, unknown> = {}): World => {
  const w = newWorld(teardown);
  w.home = HOME;
  w.settings = parseSettings({
    teardown: { slackChannels: ['C1'], ...teardown },
    organization: { accounts: [MEMBER], regions: ['us-east-1', 'eu-west-1'], externalId: 'ext-1' },
  });
  return w;
};

const registerAt = (w: World, stackName: string, account: string, region: string) =>
  w.store.regs.push({
    pipeline: PIPELINE,
    executionId: EXECUTION,
    stackId: stackArn(stackName, account, region),
    stackName,
  });

describe('teardown across accounts and regions', () => {
  it('deletes a member stack where it lives, and never looks at a stack of an account it was not given', async () => {
    const w = organizationWorld();
    w.cloud.add({ stackName: 'test-home' });
    w.cloud.add({ stackName: 'test-member', stackId: stackArn('test-member', MEMBER, 'eu-west-1') });
    w.cloud.add({ stackName: 'test-stranger', stackId: stackArn('test-stranger', STRANGER, 'us-east-1') });
    registerAt(w, 'test-home', HOME.accountId, HOME.region);
    registerAt(w, 'test-member', MEMBER, 'eu-west-1');
    registerAt(w, 'test-stranger', STRANGER, 'us-east-1');
    const out = await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-home')?.outcome).toBe('DELETED');
    expect(outcomeOf(w, 'test-member')?.outcome).toBe('DELETED');
    expect(outcomeOf(w, 'test-stranger')).toMatchObject({
      outcome: 'SKIPPED_NOT_OWNED',
      detail: `${STRANGER}/us-east-1 is not this hub's account or one of its member accounts`,
    });
    expect(w.cloud.deletes.map((d) => d.stackId).sort()).toEqual(
      [stackArn('test-home'), stackArn('test-member', MEMBER, 'eu-west-1')].sort(),
    );
    // Nothing was even described in the stranger's account.
    expect(w.cloud.calls.filter((c) => c.includes(STRANGER))).toEqual([]);
    expect(new Set(w.reached)).toEqual(new Set([`${MEMBER}/eu-west-1`]));
    expect(out).toMatchObject({ status: 'FINISHED', counts: { DELETED: 2, SKIPPED_NOT_OWNED: 1 } });
  });

  it('applies allow rules at home only: an untagged member stack they match is not deleted', async () => {
    const w = organizationWorld({ allowRules: [{ pipeline: PIPELINE, stackName: 'legacy-*' }] });
    w.cloud.add({ stackName: 'legacy-home', tags: {} });
    w.cloud.add({ stackName: 'legacy-member', tags: {}, stackId: stackArn('legacy-member', MEMBER, 'eu-west-1') });
    registerAt(w, 'legacy-home', HOME.accountId, HOME.region);
    registerAt(w, 'legacy-member', MEMBER, 'eu-west-1');
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'legacy-home')?.outcome).toBe('DELETED');
    expect(outcomeOf(w, 'legacy-member')?.outcome).toBe('SKIPPED_NOT_OWNED');
    expect(w.cloud.deletes.map((d) => d.stackId)).toEqual([stackArn('legacy-home')]);
  });

  it('empties a member stack bucket in the member account before deleting again', async () => {
    const w = organizationWorld();
    w.cloud.add({
      stackName: 'test-data',
      stackId: stackArn('test-data', MEMBER, 'eu-west-1'),
      tags: ownerTags(),
      afterDelete: [{ status: 'DELETE_FAILED', reason: 'bucket not empty' }, { status: 'DELETE_COMPLETE' }],
      resources: [
        { logicalId: 'Data', physicalId: 'test-data-bucket', type: 'AWS::S3::Bucket', status: 'DELETE_FAILED' },
      ],
      events: [
        {
          logicalId: 'Data',
          physicalId: 'test-data-bucket',
          type: 'AWS::S3::Bucket',
          status: 'DELETE_FAILED',
          reason:
            'The bucket you tried to delete is not empty (Service: Amazon S3; Status Code: 409; Error Code: BucketNotEmpty)',
          timestamp: '2026-01-01T00:01:00Z',
        },
      ],
    });
    registerAt(w, 'test-data', MEMBER, 'eu-west-1');
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-data')?.outcome).toBe('DELETED');
    expect(w.emptied).toEqual([`${MEMBER}:test-data-bucket`]);
  });

  it('reads a member pipeline where it lives, and finds its cross-region stack by name where the action ran', async () => {
    const w = organizationWorld();
    w.cloud.add({ stackName: 'test-by-name', stackId: stackArn('test-by-name', MEMBER, 'eu-west-1') });
    w.actionStacks = [{ stackName: 'test-by-name', region: 'eu-west-1', accountId: MEMBER }];
    const input = executionInput({ where: { accountId: MEMBER, region: 'us-east-1' } });
    await runTeardown(w, input);
    expect(w.pipelineReads).toEqual([`status ${MEMBER}/us-east-1`, `actions ${MEMBER}/us-east-1`]);
    expect(outcomeOf(w, 'test-by-name')?.outcome).toBe('DELETED');
    expect(w.reached[0]).toBe(`${MEMBER}/eu-west-1`);
  });

  it('records an action stack in an account it was not given as not owned, without looking it up', async () => {
    const w = organizationWorld();
    w.cloud.add({ stackName: 'test-away', stackId: stackArn('test-away', STRANGER, 'eu-west-1') });
    w.actionStacks = [{ stackName: 'test-away', region: 'eu-west-1', accountId: STRANGER }];
    await runTeardown(w, executionInput());
    expect(outcomeOf(w, 'test-away')).toMatchObject({
      outcome: 'SKIPPED_NOT_OWNED',
      detail: expect.stringContaining(`account ${STRANGER} is not one of this hub's member accounts`),
    });
    expect(w.cloud.calls).toEqual([]);
    expect(w.cloud.deletes).toEqual([]);
  });

  it("finds a home pipeline's cross-region stack by name in that region of the hub's own account", async () => {
    const w = organizationWorld();
    w.settings = parseSettings({
      teardown: { slackChannels: ['C1'] },
      organization: { accounts: [HOME.accountId], regions: ['us-east-1', 'eu-west-1'] },
    });
    w.cloud.add({ stackName: 'test-far', stackId: stackArn('test-far', HOME.accountId, 'eu-west-1') });
    w.actionStacks = [{ stackName: 'test-far', region: 'eu-west-1' }];
    await runTeardown(w, executionInput());
    expect(w.reached[0]).toBe(`${HOME.accountId}/eu-west-1`);
    expect(outcomeOf(w, 'test-far')?.outcome).toBe('DELETED');
  });
});
