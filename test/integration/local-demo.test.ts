/**
 * The first hour: `npm start` seeds a demo approver, channel, sender, Slack workspace and bot token and a short
 * teardown grace, so the first approval is visible in the outbox at once; `stagecrew.local.json` still wins.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, startTestCloud } from '../helpers/local-cloud.ts';

const settingsOf = async (t: Awaited<ReturnType<typeof startTestCloud>>) => {
  const ssm = new SSMClient(t.clientConfig);
  const name = t.cloud.model.parameters[0]?.name as string;
  const out = await ssm.send(new GetParameterCommand({ Name: name }));
  ssm.destroy();
  return JSON.parse(out.Parameter?.Value ?? '{}');
};

describe('first-hour demo defaults', () => {
  it('seeds recipients, channel, sender, Slack token and directory, and a short teardown grace', async () => {
    const t = await startTestCloud({ demo: true });
    try {
      const settings = await settingsOf(t);
      expect(settings.approvals.defaults).toMatchObject({
        slackChannels: ['C0DEMOLOCAL'],
        emails: ['approver@example.com'],
      });
      expect(settings.notifications.emailSender).toBe('stagecrew@example.com');
      expect(settings.teardown.graceSeconds).toBe(30);
      const sm = new SecretsManagerClient(t.clientConfig);
      const secret = JSON.parse(
        (await sm.send(new GetSecretValueCommand({ SecretId: t.cloud.model.secrets[0]?.arn }))).SecretString ?? '{}',
      );
      sm.destroy();
      expect(secret.slackBotToken).toBe('xoxb-local-demo');
      expect(secret.slackSigningSecret).toMatch(/^[0-9a-f]{32}$/);
      expect(secret.linkSigningKey).toHaveLength(64);
      const members = await fetch(`${t.url}/_slack/api/conversations.members?channel=C0DEMOLOCAL`, {
        headers: { authorization: 'Bearer xoxb-local-demo' },
      });
      expect(await members.json()).toMatchObject({ ok: true, members: ['U0DEMOAPPROVER'] });
    } finally {
      await t.stop();
    }
  });

  it('lets stagecrew.local.json override each demo value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stagecrew-demo-'));
    const configPath = join(dir, 'stagecrew.local.json');
    writeFileSync(configPath, JSON.stringify({ parameters: { EmailRecipients: 'team@example.com' } }));
    const t = await startTestCloud({
      demo: true,
      localConfigPath: configPath,
      templatePath: join(REPO_ROOT, 'template.yaml'),
    });
    try {
      const settings = await settingsOf(t);
      expect(settings.approvals.defaults.emails).toEqual(['team@example.com']);
      expect(settings.approvals.defaults.slackChannels).toEqual(['C0DEMOLOCAL']);
    } finally {
      await t.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
