/**
 * Attacks on the Slack path, written from the threat: a correctly signed click (Slack signs every interaction of
 * the app, from any channel or message a user can reach) must not decide an approval it was not posted for, from a
 * message Stagecrew did not post, by someone outside the routed channel, or count one person twice.
 */
import { describe, expect, it } from 'vitest';
import { ACTION_APPROVE, ACTION_REJECT, REJECT_VIEW } from '#core/approvals/render';
import { handleApprovalHttp } from '../../../functions/approval-api/http.ts';
import { pendingRecord } from './fakes.ts';
import { apiSetup, formFor, linkFor, POSTS, postForm, signedSlack } from './helpers.ts';

const signed = (payload: unknown) => signedSlack(payload);
const click = (id: string, user: string, where = { channel: 'C1', ts: '1.1' }, action = ACTION_APPROVE) => ({
  type: 'block_actions',
  user: { id: user, name: user.toLowerCase() },
  trigger_id: 'trig-1',
  channel: { id: where.channel },
  container: { type: 'message', channel_id: where.channel, message_ts: where.ts },
  actions: [{ action_id: action, value: id }],
});
const policy = (over: Record<string, unknown>) => ({
  allow: [],
  quorum: 1,
  allowSelfApproval: false,
  rejectNeedsReason: false,
  ...over,
});

describe('Slack clicks are bound to where the approval was posted', () => {
  it('an approval routed only to email cannot be decided from Slack (the reproduced attack)', async () => {
    const { deps, id, calls, slack, store } = apiSetup(
      pendingRecord({ route: { emails: ['ana@example.com'], slackChannels: [] }, slackPosts: [] }),
    );
    const res = await handleApprovalHttp(signed(click(id, 'U0ZED', { channel: 'C0RANDOM', ts: '9.9' })), deps);
    expect(res.statusCode).toBe(200);
    expect(calls).toHaveLength(0);
    expect(slack.ephemeral[0]?.text).toMatch(/^Not recorded: this approval was not posted in this message/);
    expect(store.audits.find((a) => a.event === 'refused')).toMatchObject({
      reason: 'not_posted_here',
      actor: 'slack:U0ZED',
    });
  });

  it('a click naming the approval from another channel or another message of the same channel is refused', async () => {
    const { deps, id, calls } = apiSetup();
    await handleApprovalHttp(signed(click(id, 'U0ANA', { channel: 'C0OTHER', ts: '1.1' })), deps);
    await handleApprovalHttp(signed(click(id, 'U0ANA', { channel: 'C1', ts: '2.2' })), deps);
    const { container: _c, ...noContainer } = click(id, 'U0ANA');
    await handleApprovalHttp(signed(noContainer), deps);
    expect(calls).toHaveLength(0);
    await handleApprovalHttp(signed(click(id, 'U0ANA')), deps);
    expect(calls).toHaveLength(1);
  });

  it('a reject form whose metadata names another message is refused (view_submission)', async () => {
    const { deps, id, calls } = apiSetup();
    const submit = {
      type: 'view_submission',
      user: { id: 'U0ANA', name: 'ana' },
      view: {
        callback_id: REJECT_VIEW,
        private_metadata: JSON.stringify({ id, channel: 'C0OTHER', ts: '5.5' }),
        state: { values: { reason: { value: { value: 'no' } } } },
      },
    };
    const res = await handleApprovalHttp(signed(submit), deps);
    expect(JSON.parse(res.body ?? '')).toMatchObject({
      response_action: 'errors',
      errors: { reason: expect.stringMatching(/not posted in this message/) },
    });
    expect(calls).toHaveLength(0);
  });

  it('an empty allow-list admits members of the posted channel only, checked with Slack', async () => {
    const { deps, id, calls, slack, directory } = apiSetup();
    await handleApprovalHttp(signed(click(id, 'U0EVE')), deps); // in the workspace, not in C1
    expect(slack.ephemeral.at(-1)?.text).toBe(
      'Not recorded: you are not a member of the channel this approval was posted to.',
    );
    directory.failMembers = true;
    await handleApprovalHttp(signed(click(id, 'U0ANA')), deps);
    expect(slack.ephemeral.at(-1)?.text).toMatch(/could not check that you are a member/);
    expect(calls).toHaveLength(0);
    directory.failMembers = false;
    await handleApprovalHttp(signed(click(id, 'U0ANA')), deps);
    expect(calls).toHaveLength(1);
  });

  it('an allow-list decides instead of membership: user ids, emails, domains and user groups', async () => {
    for (const [entry, user, ok] of [
      ['U0EVE', 'U0EVE', true],
      ['eve@example.com', 'U0EVE', true],
      ['@example.com', 'U0EVE', true],
      ['S0RELEASE', 'U0EVE', true],
      ['S0RELEASE', 'U0BO', false],
      ['@other.example', 'U0EVE', false],
    ] as const) {
      const { deps, id, calls, directory } = apiSetup(
        pendingRecord({ slackPosts: POSTS, route: { slackChannels: ['C1'], policy: policy({ allow: [entry] }) } }),
      );
      directory.groups.set('S0RELEASE', ['U0EVE']);
      await handleApprovalHttp(signed(click(id, user)), deps);
      expect(calls.length, `${entry} / ${user}`).toBe(ok ? 1 : 0);
    }
  });
});

describe('one person, one vote, across Slack and email', () => {
  it('Ana approving in Slack and again by email counts once (votes keyed by her email)', async () => {
    const { deps, id, calls, store } = apiSetup(
      pendingRecord({ slackPosts: POSTS, route: { slackChannels: ['C1'], policy: policy({ quorum: 2 }) } }),
    );
    await handleApprovalHttp(signed(click(id, 'U0ANA')), deps);
    const email = await handleApprovalHttp(postForm(id, formFor(id, linkFor(id, 'ana@example.com'), 'approve')), deps);
    expect(email.statusCode).toBe(409);
    expect(calls).toHaveLength(0);
    expect((await store.get(id))?.approveCount).toBe(1);
  });

  it('when users.info fails or has no email, a vote toward a quorum above 1 is refused, not keyed by user id', async () => {
    const { deps, id, calls, slack, directory, store } = apiSetup(
      pendingRecord({ slackPosts: POSTS, route: { slackChannels: ['C1'], policy: policy({ quorum: 2 }) } }),
    );
    directory.failUsers = true;
    await handleApprovalHttp(signed(click(id, 'U0ANA')), deps);
    directory.failUsers = false;
    directory.users.set('U0BO', {}); // no users:read.email scope: the profile has no email
    await handleApprovalHttp(signed(click(id, 'U0BO')), deps);
    expect(slack.ephemeral.map((e) => e.text)).toEqual([
      expect.stringMatching(/^Not recorded: Stagecrew could not confirm your email address in Slack/),
      expect.stringMatching(/^Not recorded: Stagecrew could not confirm your email address in Slack/),
    ]);
    expect(store.votes.size).toBe(0);
    expect(calls).toHaveLength(0);
  });

  it('the same holds for an allow-list by email or domain; a quorum of 1 with user ids still works without email', async () => {
    const byDomain = apiSetup(
      pendingRecord({
        slackPosts: POSTS,
        route: { slackChannels: ['C1'], policy: policy({ allow: ['@example.com'] }) },
      }),
    );
    byDomain.directory.failUsers = true;
    await handleApprovalHttp(signed(click(byDomain.id, 'U0ANA')), byDomain.deps);
    expect(byDomain.calls).toHaveLength(0);
    const byId = apiSetup(
      pendingRecord({ slackPosts: POSTS, route: { slackChannels: ['C1'], policy: policy({ allow: ['U0ANA'] }) } }),
    );
    byId.directory.failUsers = true;
    await handleApprovalHttp(signed(click(byId.id, 'U0ANA', undefined, ACTION_REJECT)), byId.deps);
    expect(byId.calls).toEqual([expect.objectContaining({ result: expect.objectContaining({ status: 'Rejected' }) })]);
  });
});
