import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  CodePipelineClient,
  CreatePipelineCommand,
  GetPipelineStateCommand,
  StartPipelineExecutionCommand,
  StopPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoApprovalStore } from '#core/adapters/approval-store';
import { handleRequestEvent } from '#core/approvals/request';
import { RequestFunctionEvent } from '#core/approvals/schemas';
import { signSlackRequest } from '#core/approvals/signing';
import { fromHttpApiResult, type HttpRoute, matchRoute, toHttpApiEvent } from '#local/runtime/http-api';
import { type ApiDeps, handleApprovalHttp } from '../../functions/approval-api/http.ts';
import { type Browser, launchBrowser } from '../helpers/browser.ts';
import { startDynalite } from '../helpers/dynalite.ts';
import { startTestCloud, type TestCloud, waitFor } from '../helpers/local-cloud.ts';
import { actionType, codeCommitSourceStage, pipelineDefinition } from '../helpers/pipelines.ts';
import { FakeMailer, FakeSlack, KEYS, settingsWith } from '../unit/approvals/fakes.ts';
import { type GitFixture, gitFixture } from '../unit/local/codepipeline/git-fixture.ts';

/**
 * A real browser against the approval page. Until the local cloud serves the API, a node:http server turns each
 * request into the payload 2.0 event API Gateway would send (local/runtime/http-api.ts) and calls the approval
 * API's use case with a DynamoDB store on dynalite, a recording CodePipeline fake and the fake mailer that
 * captured the approval email.
 */
const ROUTES: HttpRoute[] = [
  { method: 'GET', path: '/approvals/{id}', functionName: 'ApprovalApiFunction' },
  { method: 'POST', path: '/approvals/{id}/decision', functionName: 'ApprovalApiFunction' },
  { method: 'POST', path: '/slack/interactions', functionName: 'ApprovalApiFunction' },
];

let server: Server;
let db: Awaited<ReturnType<typeof startDynalite>>;
let context: BrowserContext;
let browser: Browser;
let baseUrl: string;
const calls: unknown[] = [];
const mailer = new FakeMailer();

beforeAll(async () => {
  db = await startDynalite();
  const store = new DynamoApprovalStore(db.doc, db.tableName);
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
      const match = matchRoute(ROUTES, method, path);
      if (!match) {
        res.writeHead(404).end();
        return;
      }
      const event = toHttpApiEvent(
        {
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers: req.headers,
          body: Buffer.concat(chunks),
          sourceIp: '127.0.0.1',
        },
        match,
        { accountId: '123456789012', apiId: 'local' },
      );
      try {
        const out = fromHttpApiResult(await handleApprovalHttp(event, apiDeps(store)));
        res.writeHead(out.status, out.headers).end(out.body);
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // The approval arrives over SNS and is emailed, exactly as in production.
  const event = RequestFunctionEvent.parse(JSON.parse(readFileSync('events/sns-approval-sequential.json', 'utf8')));
  await handleRequestEvent(event, {
    store,
    slack: new FakeSlack(),
    mailer,
    keys: async () => KEYS,
    baseUrl,
    clock: { now: () => new Date('2026-03-02T10:00:00Z') },
    warn: () => {},
    settings: async () => settingsWith({ defaults: { emails: ['ana@example.com'] } }),
    pipelines: {
      getPipelineState: async () => ({ pipelineName: 'web-app', stages: [] }),
      getPipelineExecution: async () => {
        throw new Error('not needed');
      },
      listActionExecutions: async () => [],
      listRecentActionExecutions: async () => [],
      getActionConfiguration: async () => undefined,
    },
  });

  browser = await launchBrowser();
  context = browser.context;
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await db?.stop();
});

// A pinned clock two hours after the approval arrived: the fixture's deadline (2026-03-09) stays ahead of it.
const pageClock = { now: () => new Date('2026-03-02T12:00:00Z') };

const apiDeps = (store: DynamoApprovalStore): ApiDeps => ({
  store,
  pipelines: {
    putApprovalResult: async (input) => {
      calls.push(input);
      return { approvedAt: new Date('2026-03-02T12:00:00Z') };
    },
  },
  publisher: { publish: async () => {} },
  clock: pageClock,
  keys: async () => KEYS,
  slackSigningSecret: async () => 'unused',
  baseUrl,
  warn: () => {},
});

describe('approval page in a real browser', () => {
  it('opens the emailed link, approves with a comment, and the link then says who decided', async () => {
    const email = mailer.sent[0];
    expect(email?.to).toEqual(['ana@example.com']);
    const link = /http:\/\/127\.0\.0\.1:\d+\/approvals\/\S+/.exec(email?.text ?? '')?.[0];
    expect(link).toBeDefined();

    const page = await context.newPage();
    const first = await page.goto(link as string);
    expect(first?.status()).toBe(200);
    expect(first?.headers()['cache-control']).toBe('no-store');
    await expect(page.locator('h1').innerText()).resolves.toBe('web-app › Prod › Approve');
    const details = await page.locator('table').innerText();
    expect(details).toContain('Release 1.4: check the canary dashboard first.');
    expect(details).toContain('2026-03-09T10:00:00.000Z');
    expect(calls).toHaveLength(0); // opening the page decided nothing

    await page.fill('#comment', 'Canary looks healthy');
    await Promise.all([page.waitForLoadState('load'), page.click('button[value="approve"]')]);
    await expect(page.locator('[role="status"]').innerText()).resolves.toContain(
      'Approved: CodePipeline has been told',
    );
    expect(calls).toEqual([
      expect.objectContaining({
        pipelineName: 'web-app',
        token: '1a2b3c4d-573f-4ea7-a67e-EXAMPLETOKEN',
        result: { status: 'Approved', summary: 'Approved by ana@example.com via email: Canary looks healthy' },
      }),
    ]);

    const again = await page.goto(link as string);
    expect(again?.status()).toBe(409);
    const status = await page.locator('[role="status"]').innerText();
    expect(status).toMatch(/^Already decided by ana@example\.com at .+: approved \(“Canary looks healthy”\)\.$/);
    expect(await page.locator('form').count()).toBe(0);
    await page.close();
  });
});

/**
 * The whole flow on the local cloud: a real pipeline's Manual approval publishes to the template's approval
 * topic, the approval-request function (and its EventBridge twin, deduplicated) stores and emails it, the
 * browser follows the emailed link to the approval-api function, and the pipeline continues.
 */
describe('approval on the local cloud', () => {
  let cloud: TestCloud;
  let repo: GitFixture;
  const saved = process.env.STAGECREW_SOURCES;

  beforeAll(async () => {
    repo = gitFixture({ 'index.html': '<h1>v1</h1>\n' });
    const sources = join(repo.root, 'sources.json');
    writeFileSync(sources, JSON.stringify({ 'approval-demo': repo.repo }));
    process.env.STAGECREW_SOURCES = sources;
    cloud = await startTestCloud();
    const parameter = cloud.cloud.model.parameters[0]?.name as string;
    await new SSMClient(cloud.clientConfig).send(
      new PutParameterCommand({
        Name: parameter,
        Overwrite: true,
        Type: 'String',
        Value: JSON.stringify({
          approvals: { defaults: { emails: ['ana@example.com'], reminderMinutes: 0 } },
          notifications: { emailSender: 'stagecrew@example.com' },
        }),
      }),
    );
  });

  afterAll(async () => {
    await cloud?.stop();
    repo?.cleanup();
    process.env.STAGECREW_SOURCES = saved;
  });

  it('emails one signed link; approving it in the browser ends the Manual approval and the pipeline succeeds', async () => {
    const topic = cloud.cloud.model.topics[0]?.arn as string;
    const client = new CodePipelineClient(cloud.clientConfig);
    await client.send(
      new CreatePipelineCommand(
        pipelineDefinition('approval-demo', [
          codeCommitSourceStage('approval-demo'),
          {
            name: 'Prod',
            actions: [
              {
                name: 'Approve',
                actionTypeId: actionType('Approval', 'Manual'),
                configuration: { NotificationArn: topic, CustomData: 'Ship v1 to production?' },
              },
            ],
          },
        ]) as never,
      ),
    );

    type OutboxItem = { channel: string; to?: string[]; subject?: string; links?: string[] };
    const outbox = async () => (await (await fetch(`${cloud.url}/_local/outbox`)).json()) as OutboxItem[];
    const mail = await waitFor(
      async () => (await outbox()).find((m) => m.links?.some((l) => l.includes('/approvals/'))),
      40_000,
    );
    expect(mail.to).toEqual(['ana@example.com']);
    const link = mail.links?.find((l) => l.includes('/approvals/')) as string;
    expect(new URL(link).origin).toBe(cloud.url);

    // Whichever of SNS and EventBridge came first, the SNS message's custom data reaches the record (GET reads only).
    await waitFor(async () => (await (await fetch(link)).text()).includes('Ship v1 to production?'), 40_000);
    const page = await context.newPage();
    expect((await page.goto(link))?.status()).toBe(200);
    await expect(page.locator('table').innerText()).resolves.toContain('Ship v1 to production?');
    await page.fill('#comment', 'Looks good');
    await Promise.all([page.waitForLoadState('load'), page.click('button[value="approve"]')]);
    await expect(page.locator('[role="status"]').innerText()).resolves.toContain('CodePipeline has been told');

    const state = await waitFor(async () => {
      const s = await client.send(new GetPipelineStateCommand({ name: 'approval-demo' }));
      const prod = s.stageStates?.find((st) => st.stageName === 'Prod');
      return prod?.latestExecution?.status === 'Succeeded' ? prod : undefined;
    }, 40_000);
    expect(state.actionStates?.[0]?.latestExecution?.summary).toBe('Approved by ana@example.com via email: Looks good');

    const again = await page.goto(link);
    expect(again?.status()).toBe(409);
    await expect(page.locator('[role="status"]').innerText()).resolves.toMatch(/^Already decided by ana@example\.com/);
    // SNS and the EventBridge STARTED event both delivered the approval: one record, one email.
    expect((await outbox()).filter((m) => m.links?.some((l) => l.includes('/approvals/')))).toHaveLength(1);
    await page.close();
  }, 120_000);

  it('a stopped execution closes its pending approval: the link dies with the reason', async () => {
    const client = new CodePipelineClient(cloud.clientConfig);
    type OutboxItem = { channel: string; links?: string[] };
    const links = async () =>
      ((await (await fetch(`${cloud.url}/_local/outbox`)).json()) as OutboxItem[]).flatMap((m) =>
        (m.links ?? []).filter((l) => l.includes('/approvals/')),
      );
    const before = new Set(await links());
    const started = await client.send(new StartPipelineExecutionCommand({ name: 'approval-demo' }));
    const link = await waitFor(async () => (await links()).find((l) => !before.has(l)), 40_000);
    expect((await fetch(link)).status).toBe(200);
    await client.send(
      new StopPipelineExecutionCommand({
        pipelineName: 'approval-demo',
        pipelineExecutionId: started.pipelineExecutionId,
        abandon: true,
        reason: 'release cancelled',
      }),
    );
    const closed = await waitFor(async () => {
      const res = await fetch(link);
      return res.status === 410 ? res.text() : undefined;
    }, 40_000);
    expect(closed).toContain('Closed outside Stagecrew');
    expect(closed).not.toContain('<form');
  }, 120_000);
});

/**
 * A quorum of two on the local cloud: one signed Slack button click (to the real approval-api route) and one
 * emailed link approved in the browser; CodePipeline hears exactly one decision, after the second vote, and the
 * Slack message is edited from the persisted outcome.
 */
describe('Slack + email quorum on the local cloud', () => {
  let cloud: TestCloud;
  let repo: GitFixture;
  const saved = process.env.STAGECREW_SOURCES;
  const SIGNING = 'local-slack-signing-secret';

  beforeAll(async () => {
    repo = gitFixture({ 'index.html': '<h1>v1</h1>\n' });
    const sources = join(repo.root, 'sources.json');
    writeFileSync(sources, JSON.stringify({ 'quorum-demo': repo.repo }));
    process.env.STAGECREW_SOURCES = sources;
    cloud = await startTestCloud({
      // The local Slack workspace: Ana is in #deploys and her profile has her email (users:read.email).
      slackDirectory: {
        users: [{ id: 'U0ANA', name: 'ana', email: 'ana@example.com' }],
        channels: { C0DEPLOYS: ['U0ANA'] },
      },
    });
    await new SSMClient(cloud.clientConfig).send(
      new PutParameterCommand({
        Name: cloud.cloud.model.parameters[0]?.name as string,
        Overwrite: true,
        Type: 'String',
        Value: JSON.stringify({
          approvals: {
            defaults: {
              slackChannels: ['C0DEPLOYS'],
              emails: ['bo@example.com'],
              reminderMinutes: 0,
              policy: { quorum: 2 },
            },
          },
          notifications: { emailSender: 'stagecrew@example.com' },
        }),
      }),
    );
    const sm = new SecretsManagerClient(cloud.clientConfig);
    const secretId = cloud.cloud.model.secrets[0]?.arn as string;
    const current = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString ?? '{}');
    await sm.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        SecretString: JSON.stringify({ ...current, slackBotToken: 'xoxb-local', slackSigningSecret: SIGNING }),
      }),
    );
  });

  afterAll(async () => {
    await cloud?.stop();
    repo?.cleanup();
    process.env.STAGECREW_SOURCES = saved;
  });

  it('records the Slack vote, decides on the emailed second vote, and edits the Slack message', async () => {
    const client = new CodePipelineClient(cloud.clientConfig);
    await client.send(
      new CreatePipelineCommand(
        pipelineDefinition('quorum-demo', [
          codeCommitSourceStage('quorum-demo'),
          {
            name: 'Prod',
            actions: [
              {
                name: 'Approve',
                actionTypeId: actionType('Approval', 'Manual'),
                configuration: { NotificationArn: cloud.cloud.model.topics[0]?.arn as string },
              },
            ],
          },
        ]) as never,
      ),
    );
    type OutboxItem = { channel: string; to?: string[]; text?: string; links?: string[] };
    const outbox = async () => (await (await fetch(`${cloud.url}/_local/outbox`)).json()) as OutboxItem[];
    const mail = await waitFor(
      async () =>
        (await outbox()).find((m) => m.channel === 'email' && m.links?.some((l) => l.includes('/approvals/'))),
      40_000,
    );
    const link = mail.links?.find((l) => l.includes('/approvals/')) as string;
    const id = decodeURIComponent(new URL(link).pathname.split('/').pop() as string);
    const posted = (await waitFor(
      async () =>
        (await outbox()).find((m) => m.channel === 'slack' && m.text?.includes('Approval needed: quorum-demo')),
      40_000,
    )) as OutboxItem & { slack?: { ts: string } };

    // Ana clicks Approve on the posted message in Slack: Slack signs the raw form body.
    const raw = `payload=${encodeURIComponent(
      JSON.stringify({
        type: 'block_actions',
        user: { id: 'U0ANA', name: 'ana' },
        channel: { id: 'C0DEPLOYS' },
        container: { type: 'message', channel_id: 'C0DEPLOYS', message_ts: posted.slack?.ts },
        actions: [{ action_id: 'stagecrew_approve', value: id }],
      }),
    )}`;
    const ts = Math.floor(Date.now() / 1000);
    const click = await fetch(`${cloud.url}/slack/interactions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': signSlackRequest(SIGNING, ts, raw),
      },
      body: raw,
    });
    expect(click.status).toBe(200);
    const forged = await fetch(`${cloud.url}/slack/interactions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': signSlackRequest('wrong', ts, raw),
      },
      body: raw,
    });
    expect(forged.status).toBe(401);
    await waitFor(
      async () => (await outbox()).find((m) => m.channel === 'slack' && m.text?.includes('1 of 2 approved')),
      40_000,
    );
    const prodStatus = async () =>
      (await client.send(new GetPipelineStateCommand({ name: 'quorum-demo' }))).stageStates?.find(
        (s) => s.stageName === 'Prod',
      )?.latestExecution?.status;
    expect(await prodStatus()).toBe('InProgress');

    // Bo approves from the email.
    const page = await context.newPage();
    expect((await page.goto(link))?.status()).toBe(200);
    await expect(page.locator('table').innerText()).resolves.toContain('1 of 2 approved');
    await Promise.all([page.waitForLoadState('load'), page.click('button[value="approve"]')]);
    await expect(page.locator('[role="status"]').innerText()).resolves.toContain('CodePipeline has been told');
    await page.close();

    const prod = await waitFor(async () => {
      const s = await client.send(new GetPipelineStateCommand({ name: 'quorum-demo' }));
      const stage = s.stageStates?.find((st) => st.stageName === 'Prod');
      return stage?.latestExecution?.status === 'Succeeded' ? stage : undefined;
    }, 40_000);
    expect(prod.actionStates?.[0]?.latestExecution?.summary).toBe(
      'Approved by ana <slack:U0ANA>, bo@example.com via email',
    );
    await waitFor(
      async () =>
        (await outbox()).find(
          // Slack's fallback text is mrkdwn: the decider names arrive escaped.
          (m) => m.channel === 'slack' && m.text?.includes('Approved by ana &lt;slack:U0ANA&gt;, bo@example.com'),
        ),
      40_000,
    );
  }, 120_000);
});
