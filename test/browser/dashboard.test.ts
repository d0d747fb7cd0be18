import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkUrl, signLink } from '#core/approvals/signing';
import { type Browser, launchBrowser } from '../helpers/browser.ts';
import { startTestCloud, type TestCloud } from '../helpers/local-cloud.ts';

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core): a pending approval appears with
 * its link, the link is absolute, and following it reaches the approval page served by the approval-api function.
 */

let t: TestCloud;
let browser: BrowserContext;
let launched: Browser;

const approval = (id: string, status: string, extra: Record<string, unknown> = {}) => ({
  pk: `APPROVAL#${id}`,
  sk: 'META',
  type: 'approval',
  id,
  status,
  pipeline: 'shop-api',
  stage: 'Prod',
  action: 'Approve',
  executionId: '11111111-2222-3333-4444-555555555555',
  region: 'us-east-1',
  token: 'cp-token',
  createdAt: new Date(Date.now() - 60_000).toISOString(),
  expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  source: 'sns',
  authors: [],
  route: {
    slackChannels: [],
    emails: ['dev@example.com'],
    policy: { allow: [], quorum: 1, allowSelfApproval: false, rejectNeedsReason: true },
    linkTtlMinutes: 60,
    reminderMinutes: 0,
    escalateBeforeMinutes: 0,
    escalation: { slackChannels: [], emails: [] },
  },
  approveCount: 0,
  approvers: [],
  slackPosts: [],
  emailedTo: ['dev@example.com'],
  version: 1,
  ...extra,
});

beforeAll(async () => {
  t = await startTestCloud();
  launched = await launchBrowser();
  browser = launched.context;
});
afterAll(async () => {
  await launched?.close();
  await t?.stop();
});

describe('dashboard', () => {
  it('shows a pending approval with its absolute link, and the link opens the approval page', async () => {
    const table = t.cloud.model.tables[0]?.name as string;
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(t.clientConfig));
    await doc.send(new PutCommand({ TableName: table, Item: approval('apr-pending-000001', 'PENDING') }));
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: approval('apr-decided-000001', 'APPROVED', { decidedBy: 'lead@example.com' }),
      }),
    );

    // The link an approval email carries: signed with the local cloud's generated link key.
    const secret = await new SecretsManagerClient(t.clientConfig).send(
      new GetSecretValueCommand({ SecretId: t.cloud.model.secrets[0]?.arn }),
    );
    const { linkKeyId, linkSigningKey } = JSON.parse(secret.SecretString ?? '{}');
    const keys = { current: { id: linkKeyId, key: linkSigningKey }, previous: {} };
    const link = linkUrl(
      t.url,
      'apr-pending-000001',
      signLink(keys, 'apr-pending-000001', 'dev@example.com', new Date(Date.now() + 3_600_000)),
    );
    await new SESv2Client(t.clientConfig).send(
      new SendEmailCommand({
        FromEmailAddress: 'stagecrew@example.com',
        Destination: { ToAddresses: ['dev@example.com'] },
        Content: {
          Simple: { Subject: { Data: 'Approve shop-api to Prod' }, Body: { Text: { Data: `Review: ${link}` } } },
        },
      }),
    );

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const response = await page.goto(`${t.url}/_local/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");

    const row = page.locator('#approvals tr', { has: page.locator('[data-approval-id="apr-pending-000001"]') });
    await row.waitFor({ timeout: 10_000 });
    await expect(row.locator('.status').textContent()).resolves.toBe('PENDING');
    const anchor = row.locator('a');
    const href = await anchor.getAttribute('href');
    expect(href).toBe(link);
    expect(new URL(href as string).origin).toBe(t.url);
    await expect(page.locator('#approvals').textContent()).resolves.toContain('Decided (1)');
    await expect(page.locator('#outbox').textContent()).resolves.toContain('Approve shop-api to Prod');

    // Live refresh: an approval created while the page is open appears without a reload.
    await doc.send(new PutCommand({ TableName: table, Item: approval('apr-pending-000002', 'PENDING') }));
    await page.locator('[data-approval-id="apr-pending-000002"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('#approvals').textContent()).resolves.toContain('Pending (2)');

    // A teardown waiting out its grace period shows when it will start deleting, counting down.
    await new SFNClient(t.clientConfig).send(
      new StartExecutionCommand({
        stateMachineArn: t.cloud.model.stateMachines[0]?.arn,
        name: 'teardown-in-grace',
        input: JSON.stringify({
          pipeline: 'shop-api',
          executionId: '11111111-2222-3333-4444-555555555555',
          reason: 'FAILED',
          graceSeconds: 900,
        }),
      }),
    );
    const countdown = page.locator('#teardown .countdown');
    await countdown.waitFor({ timeout: 15_000 });
    const seconds = () => countdown.textContent().then((x) => Number(/in (\d+) s/.exec(x ?? '')?.[1]));
    const first = await seconds();
    expect(first).toBeGreaterThan(800);
    expect(first).toBeLessThanOrEqual(900);
    // The page re-renders every 2 s: the count goes down.
    const deadline = Date.now() + 10_000;
    while ((await seconds()) >= first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(await seconds()).toBeLessThan(first);

    expect(errors).toEqual([]); // the dashboard itself: no script error, no CSP violation, no failed request

    // Follow the link as a person would: it reaches the approval page through the local HTTP API.
    const opened = await page.goto(href as string);
    expect(opened?.status()).toBe(200);
    expect(opened?.headers()['content-type']).toMatch(/text\/html/);
    await expect(page.locator('body').textContent()).resolves.toContain('shop-api');
  });
});
