import type { SlackWebApi } from '#core/adapters/slack';
import type { SlackDirectory } from './http.ts';

/**
 * Slack user identity for the approver policy: `users.info` (the email needs the `users:read.email` scope), user
 * groups (`usergroups.users.list`, scope `usergroups:read`) and channel membership (`conversations.members`,
 * scopes `channels:read` / `groups:read`).
 */
export class SlackWebDirectory implements SlackDirectory {
  readonly #api: SlackWebApi;

  constructor(api: SlackWebApi) {
    this.#api = api;
  }

  async user(userId: string): Promise<{ email?: string; name?: string }> {
    const out = await this.#api.call('users.info', { user: userId });
    const user = (out.user ?? {}) as {
      name?: string;
      real_name?: string;
      profile?: { email?: string; real_name?: string };
    };
    return { email: user.profile?.email, name: user.real_name ?? user.profile?.real_name ?? user.name };
  }

  /** `conversations.members`, page by page (Slack's cursor), until the user is found. */
  async isMember(channelId: string, userId: string): Promise<boolean> {
    let cursor: string | undefined;
    for (let page = 0; page < 50; page += 1) {
      const out = await this.#api.call('conversations.members', {
        channel: channelId,
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      });
      if (Array.isArray(out.members) && out.members.includes(userId)) return true;
      cursor = (out.response_metadata as { next_cursor?: string } | undefined)?.next_cursor || undefined;
      if (!cursor) return false;
    }
    return false;
  }

  async groupsOf(userId: string, groupIds: readonly string[]): Promise<string[]> {
    const member: string[] = [];
    for (const usergroup of groupIds) {
      const out = await this.#api.call('usergroups.users.list', { usergroup });
      if (Array.isArray(out.users) && out.users.includes(userId)) member.push(usergroup);
    }
    return member;
  }
}
