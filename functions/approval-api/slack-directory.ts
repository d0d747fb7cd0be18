import type { SlackWebApi } from '#core/adapters/slack';
import type { SlackDirectory } from '#core/approvals/http';

/** Slack user identity for the approver policy: `users.info` (email needs users:read.email) and user groups. */
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

  async groupsOf(userId: string, groupIds: readonly string[]): Promise<string[]> {
    const member: string[] = [];
    for (const usergroup of groupIds) {
      const out = await this.#api.call('usergroups.users.list', { usergroup });
      if (Array.isArray(out.users) && out.users.includes(userId)) member.push(usergroup);
    }
    return member;
  }
}
