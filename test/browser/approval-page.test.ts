import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoApprovalStore } from '#core/adapters/approval-store';
import { type ApiDeps, handleApprovalHttp } from '#core/approvals/http';
import { handleRequestEvent } from '#core/approvals/request';
import { RequestFunctionEvent } from '#core/approvals/schemas';
import { fromHttpApiResult, type HttpRoute, matchRoute, toHttpApiEvent } from '#local/runtime/http-api';
import { startDynalite } from '../adapters/approvals/dynalite.ts';
import { FakeMailer, FakeSlack, KEYS, settingsWith } from '../unit/approvals/fakes.ts';

/**
 * A real browser against the approval page. Until the local cloud serves the API, a node:http server turns each
 * request into the payload 2.0 event API Gateway would send (local/runtime/http-api.ts) and calls the approval
 * API's use case with a DynamoDB store on dynalite, a recording CodePipeline fake and the fake mailer that
 * captured the approval email.
 */
const findChromium = (): string => {
  const explicit = process.env.STAGECREW_CHROMIUM;
  if (explicit) return explicit;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  throw new Error('no Chromium found: install it (apt-get install chromium) or set STAGECREW_CHROMIUM');
};

const ROUTES: HttpRoute[] = [
  { method: 'GET', path: '/approvals/{id}', functionName: 'ApprovalApiFunction' },
  { method: 'POST', path: '/approvals/{id}/decision', functionName: 'ApprovalApiFunction' },
  { method: 'POST', path: '/slack/interactions', functionName: 'ApprovalApiFunction' },
];

let server: Server;
let db: Awaited<ReturnType<typeof startDynalite>>;
let context: BrowserContext;
let userDataDir: string;
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
    },
  });

  userDataDir = mkdtempSync(join(tmpdir(), 'stagecrew-browser-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: findChromium(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

afterAll(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
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
