/**
 * Pipeline events from member accounts (forwarded by member.yaml: docs/ORGANIZATION.md): a failed run's teardown
 * names where the pipeline lives, an unlisted account's run starts nothing, and a member pipeline is not read from
 * the hub for its lead time.
 */
import { describe, expect, it } from 'vitest';
import { parseSettings } from '#core/settings';
import { planTeardown } from '#core/teardown/trigger';
import { handleRaw, makeWorld, testSettings } from '../timeline/fakes.ts';
import { fixture } from '../timeline/fixtures.ts';

const HOME = { accountId: '123456789012', region: 'us-east-1' };
const MEMBER = '222222222222';

const world = () => {
  const w = makeWorld(parseSettings({ ...testSettings(), organization: { accounts: [MEMBER] } }));
  w.deps.home = HOME;
  w.deps.teardown.plan = planTeardown;
  return w;
};

const from = (name: string, account: string, region: string) => ({ ...fixture(name), account, region });

describe('pipeline events from member accounts', () => {
  it('starts the teardown of a member pipeline run, naming where it lives', async () => {
    const w = world();
    const out = await handleRaw(from('pipeline-failed', MEMBER, 'eu-west-1'), w.deps);
    expect(out).toMatchObject({ status: 'processed', teardown: 'started' });
    expect(w.starter.started[0]?.input).toMatchObject({ where: { accountId: MEMBER, region: 'eu-west-1' } });
  });

  it('starts nothing for a run in an account the hub was not given, but still records it', async () => {
    const w = world();
    const out = await handleRaw(from('pipeline-failed', '333333333333', 'us-east-1'), w.deps);
    expect(out).toMatchObject({ status: 'processed', teardown: 'none' });
    expect(w.starter.started).toEqual([]);
    expect(w.timeline.writes).toBe(1);
  });

  it('reads a deployment source revision at home only', async () => {
    const member = world();
    await handleRaw(from('pipeline-succeeded', MEMBER, 'eu-west-1'), member.deps);
    expect(member.pipelines.calls.filter((c) => c.startsWith('GetPipelineExecution'))).toEqual([]);
    const home = world();
    await handleRaw(fixture('pipeline-succeeded'), home.deps);
    expect(home.pipelines.calls.filter((c) => c.startsWith('GetPipelineExecution')).length).toBe(1);
  });
});
