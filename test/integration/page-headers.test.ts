/**
 * Headers on every page: through a started local cloud with Stagecrew's approval API, every response it serves
 * for an approval address (pending, decided, expired, forged and malformed links; decision results; 400, 403,
 * 404, 405, 409, 410, 415; HEAD) carries the page security headers, and no body carries a secret. Also: no
 * function environment variable in template.yaml holds a secret value (names and ARNs only).
 */
import { CodePipelineClient, CreatePipelineCommand, GetPipelineStateCommand } from '@aws-sdk/client-codepipeline';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { linkKeysFrom, linkUrl, signLink } from '#core/approvals/signing';
import { loadTemplate } from '#local/runtime/template';
import { type DecisionForm, decisionFormOf, firstApprovalLink } from '../helpers/approvals.ts';
import { waitFor } from '../helpers/local-cloud.ts';
import { codeCommitSourceStage, manualApprovalStage, pipelineDefinition } from '../helpers/pipelines.ts';
import { type SourcedCloud, startSourcedCloud } from '../helpers/sourced-cloud.ts';

let cloud: SourcedCloud;
let secretValues: string[] = [];
let keys: ReturnType<typeof linkKeysFrom>;

beforeAll(async () => {
  cloud = await startSourcedCloud({
    repository: 'headers-app',
    files: { 'README.md': 'page headers\n' },
    parameters: {
      EmailSender: 'stagecrew@example.com',
      EmailRecipients: 'ana@example.com',
      RejectNeedsReason: 'false',
    },
  });
  const secret = await new SecretsManagerClient(cloud.clientConfig).send(
    new GetSecretValueCommand({ SecretId: cloud.cloud.model.outputs.SecretsArn as string }),
  );
  const parsed = JSON.parse(secret.SecretString ?? '{}') as Record<string, unknown>;
  secretValues = Object.values(parsed).filter((v): v is string => typeof v === 'string' && v.length >= 8);
  keys = linkKeysFrom({
    linkKeyId: String(parsed.linkKeyId),
    linkSigningKey: String(parsed.linkSigningKey),
    previousLinkKeys: (parsed.previousLinkKeys ?? {}) as Record<string, string>,
  });
  await new CodePipelineClient(cloud.clientConfig).send(
    new CreatePipelineCommand(
      pipelineDefinition(
        'headers-pipe',
        [
          codeCommitSourceStage('headers-app'),
          manualApprovalStage('Approve', {
            NotificationArn: cloud.cloud.model.outputs.ApprovalTopicArn as string,
          }),
        ],
        { artifactBucket: 'headers-artifacts' },
      ) as never,
    ),
  );
}, 60_000);

afterAll(async () => {
  await cloud?.cleanup();
  vi.unstubAllEnvs();
});

type Seen = { what: string; status: number; headers: Headers; body: string };
const seen: Seen[] = [];

const call = async (what: string, url: string, init: RequestInit = {}): Promise<Seen> => {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const s = { what, status: res.status, headers: res.headers, body: await res.text() };
  seen.push(s);
  return s;
};

/** The page headers every approval response must carry. */
const expectPageHeaders = (s: Seen) => {
  const label = `${s.what} (${s.status})`;
  const csp = s.headers.get('content-security-policy') ?? '';
  const directives = csp.split(';').map((d) => d.trim());
  expect(directives, `${label} CSP`).toContain("default-src 'none'");
  expect(directives, `${label} CSP`).toContain("frame-ancestors 'none'");
  expect(s.headers.get('cache-control'), `${label} cache-control`).toContain('no-store');
  expect(s.headers.get('referrer-policy'), `${label} referrer-policy`).toBe('no-referrer');
  expect(s.headers.get('x-content-type-options'), `${label} x-content-type-options`).toBe('nosniff');
};

const post = (what: string, url: string, body: URLSearchParams | string, type = 'application/x-www-form-urlencoded') =>
  call(what, url, { method: 'POST', body, headers: { 'content-type': type } });

describe('approval pages through the local cloud', { timeout: 60_000 }, () => {
  it('every response carries CSP, no-store, no-referrer and nosniff, and no secret', async () => {
    const codepipeline = new CodePipelineClient(cloud.clientConfig);
    await waitFor(async () => {
      const state = await codepipeline.send(new GetPipelineStateCommand({ name: 'headers-pipe' }));
      return state.stageStates?.find((s) => s.stageName === 'Approve')?.latestExecution?.status === 'InProgress';
    }, 30_000);
    const link = await firstApprovalLink(cloud, 15_000);
    const url = new URL(link);
    const id = decodeURIComponent(url.pathname.split('/').pop() ?? '');
    const recipient = url.searchParams.get('r') ?? '';
    const base = `${url.origin}${url.pathname.slice(0, url.pathname.indexOf('/approvals/'))}`;

    // Pending: the page with its form, and HEAD.
    const pending = await call('pending GET', link);
    expect(pending.status).toBe(200);
    expect(pending.body).toContain('<form');
    const head = await call('pending HEAD', link, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');

    // Forged, expired, malformed, unknown.
    const forged = new URL(link);
    forged.searchParams.set('s', `${(forged.searchParams.get('s') ?? 'x').slice(0, -2)}AA`);
    expect((await call('forged GET', forged.toString())).status).toBe(403);
    expect((await call('forged HEAD', forged.toString(), { method: 'HEAD' })).status).toBe(403);
    const expired = linkUrl(base, id, signLink(keys, id, recipient, new Date(Date.now() - 60_000)));
    expect((await call('expired GET', expired)).status).toBe(410);
    expect((await call('malformed %ZZ', `${base}/approvals/%ZZ`)).status).toBe(400);
    expect((await call('malformed HEAD %ZZ', `${base}/approvals/%ZZ`, { method: 'HEAD' })).status).toBe(400);
    expect((await call('bad id', `${base}/approvals/not..an..id`)).status).toBe(404);
    const unknown = `${id.slice(0, -4)}zzzz`;
    const unknownLink = linkUrl(base, unknown, signLink(keys, unknown, recipient, new Date(Date.now() + 600_000)));
    expect((await call('unknown id', unknownLink)).status).toBe(404);
    expect((await call('no signature', `${base}/approvals/${encodeURIComponent(id)}`)).status).not.toBe(200);
    // No such route (the HTTP API's routes are method-specific): API Gateway answers 404 itself, the function never
    // runs; not Stagecrew's page, so it is not in `seen`.
    const noRoute = await fetch(`${base}/approvals/${encodeURIComponent(id)}/decision`);
    expect(noRoute.status).toBe(404);
    expect(await noRoute.text()).not.toContain('<html');

    // Decisions: wrong content type, forged, expired, then the real one, then a replay.
    const f = decisionFormOf(pending.body, link) as DecisionForm;
    const action = f.action;
    expect((await post('decision as JSON', action, '{}', 'application/json')).status).toBe(415);
    const forgedFields = new URLSearchParams(f.fields);
    forgedFields.set('s', 'AAAA');
    forgedFields.set('decision', 'approve');
    expect((await post('forged decision', action, forgedFields)).status).toBe(403);
    const expiredFields = new URLSearchParams(f.fields);
    const old = signLink(keys, id, recipient, new Date(Date.now() - 60_000));
    for (const [k, v] of Object.entries(old)) expiredFields.set(k, String(v));
    expiredFields.set('decision', 'approve');
    expect((await post('expired decision', action, expiredFields)).status).toBe(410);
    const good = new URLSearchParams(f.fields);
    good.set('decision', 'approve');
    good.set('comment', 'headers look right');
    const decided = await post('decision', action, good);
    expect(decided.status).toBeLessThan(400);
    expect((await post('replayed decision', action, good)).status).toBe(409);
    const after = await call('decided GET', link);
    expect(after.status).toBe(409);
    expect((await call('decided HEAD', link, { method: 'HEAD' })).status).toBe(409);

    // A failing dependency: the function's own 503 answer carries the same headers.
    await fetch(`${cloud.url}/_local/faults`, {
      method: 'POST',
      body: JSON.stringify({ service: 'dynamodb', operation: 'GetItem', fault: 'error', times: -1 }),
    });
    try {
      expect((await call('store unavailable', link)).status).toBe(503);
    } finally {
      await fetch(`${cloud.url}/_local/faults`, { method: 'DELETE' });
    }

    const statuses = new Set(seen.map((s) => s.status));
    for (const code of [200, 400, 403, 404, 409, 410, 415, 503]) expect(statuses, `a ${code} was seen`).toContain(code);
    for (const s of seen) {
      expectPageHeaders(s);
      for (const secret of secretValues) expect(s.body.includes(secret), `${s.what} leaks a secret`).toBe(false);
    }
  });
});

describe('secrets come only from Secrets Manager and SSM', () => {
  it('no function environment variable carries a secret value, only names and ARNs', () => {
    const template = loadTemplate('template.yaml');
    const envs: Array<[string, Record<string, unknown>]> = [
      [
        'Globals',
        (template.Globals?.Function?.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {},
      ],
    ];
    for (const [id, r] of Object.entries(template.Resources)) {
      if (r.Type !== 'AWS::Serverless::Function') continue;
      envs.push([id, (r.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {}]);
    }
    const SECRET_NAME = /secret|token|password|passwd|key|credential|signing|private/i;
    for (const [owner, vars] of envs) {
      for (const [name, value] of Object.entries(vars)) {
        const label = `${owner}.${name}`;
        if (typeof value === 'string') {
          // Literal values: nothing that looks like key material (long random-looking strings, Slack tokens).
          expect(value, label).not.toMatch(/xox[abpr]-|AKIA[0-9A-Z]{16}|[A-Za-z0-9+/]{32,}/);
          expect(SECRET_NAME.test(name) && !/_(ARN|NAME)$/.test(name), `${label} holds a secret literal`).toBe(false);
        } else {
          // Intrinsics: a secret-sounding variable may only carry a reference (ARN/name), never a resolved value.
          const text = JSON.stringify(value);
          expect(text, label).not.toMatch(/resolve:secretsmanager|resolve:ssm-secure|SecretString/);
          if (SECRET_NAME.test(name)) expect(name, `${label} must be an _ARN or _NAME`).toMatch(/_(ARN|NAME)$/);
        }
      }
    }
    // The secret's ARN is what the functions get.
    expect(envs[0]?.[1].SECRETS_ARN).toEqual({ Ref: 'Secrets' });
  });
});
