import { localDelivery } from '../dashboard/delivery.ts';
import { dashboardPage } from '../dashboard/page.ts';
import { gatherState } from '../dashboard/state.ts';
import type { DynamoDb } from '../services/dynamodb/index.ts';
import type { LocalContext, LocalService, RawRequest, RawResponse } from '../services/types.ts';
import { FaultError, type Faults, parseFaultRule } from './faults.ts';
import type { Invoker } from './invoker.ts';
import type { Meter } from './meter.ts';
import type { Outbox } from './outbox.ts';
import { ScheduleError, type Scheduler } from './scheduler.ts';
import type { LocalModel } from './wiring.ts';

/** `/_local/*`: health, outbox, schedules, recent invocations, the dashboard and its state feed. */
export type ControlDeps = {
  ctx: LocalContext;
  outbox: Outbox;
  invoker: Invoker;
  scheduler: Scheduler;
  services: LocalService[];
  model: LocalModel;
  dynamodb: DynamoDb;
  startedAt: Date;
  meter?: Meter;
  faults?: Faults;
};

const json = (status: number, body: unknown): RawResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

export const createControl = (d: ControlDeps) => {
  const ids = new Set(d.services.map((s) => s.id));
  const delivery = localDelivery(d.ctx, d.model);
  return async (request: RawRequest): Promise<RawResponse> => {
    const { method, path } = request;
    if (method === 'GET' && (path === '/_local' || path === '/_local/')) {
      const page = dashboardPage();
      return {
        status: 200,
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': page.csp,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'cache-control': 'no-store',
        },
        body: page.html,
      };
    }
    if (method === 'GET' && path === '/_local/health') {
      return json(200, {
        status: 'ok',
        startedAt: d.startedAt.toISOString(),
        services: [...ids, 'dynamodb', 'lambda', 'slack'].sort(),
        functions: d.invoker.list().map((f) => f.name),
      });
    }
    if (method === 'GET' && path === '/_local/outbox') {
      return json(
        200,
        d.outbox.list().map((m) => ({
          id: m.id,
          channel: m.channel,
          to: m.to,
          subject: m.subject,
          text: m.text,
          links: m.links,
          at: m.at,
          // Where a Slack message was posted: what an interaction on it carries (container.channel_id/message_ts).
          ...(m.slack ? { slack: { channel: m.slack.channel, ts: m.slack.ts, versions: m.slack.versions } } : {}),
        })),
      );
    }
    if (method === 'GET' && path === '/_local/state') {
      return json(
        200,
        await gatherState({
          ctx: d.ctx,
          model: d.model,
          dynamodb: d.dynamodb,
          outbox: d.outbox,
          scheduler: d.scheduler,
          invoker: d.invoker,
          has: (id) => ids.has(id),
          delivery: (pipeline) => delivery.figures(pipeline),
        }),
      );
    }
    // The delivery figures as JSON, without the read API's IAM signature (the dashboard's own feed).
    const rebuild = /^\/_local\/delivery\/([^/]+)\/rebuild$/.exec(path);
    if (rebuild) {
      if (method !== 'POST') return json(405, { error: 'use POST to rebuild the delivery summaries' });
      try {
        const days = Number(request.query.get('days') ?? 30);
        return json(200, await delivery.rebuild(decodeURIComponent(rebuild[1] as string), days));
      } catch (err) {
        if (err instanceof RangeError) return json(400, { error: err.message });
        throw err;
      }
    }
    const figures = /^\/_local\/delivery\/([^/]+)$/.exec(path);
    if (figures && method === 'GET') {
      const days = Number(request.query.get('days') ?? 30);
      try {
        return json(200, await delivery.figures(decodeURIComponent(figures[1] as string), days));
      } catch (err) {
        if (err instanceof RangeError) return json(400, { error: err.message });
        throw err;
      }
    }
    if (method === 'GET' && path === '/_local/schedules') return json(200, d.scheduler.list());
    const schedule = /^\/_local\/schedules\/([^/]+)$/.exec(path);
    if (schedule) {
      if (method !== 'POST') return json(405, { error: 'use POST to run a schedule now' });
      try {
        return json(202, await d.scheduler.runNow(decodeURIComponent(schedule[1] as string)));
      } catch (err) {
        if (err instanceof ScheduleError) return json(404, { error: err.message });
        throw err;
      }
    }
    if (method === 'GET' && path === '/_local/invocations') {
      const fn = request.query.get('function') ?? undefined;
      return json(200, d.invoker.recent(fn));
    }
    if (method === 'GET' && path === '/_local/functions') {
      return json(
        200,
        d.invoker.list().map((f) => ({ name: f.name, arn: f.arn, timeoutSeconds: f.timeoutSeconds })),
      );
    }
    if (path === '/_local/meter' && d.meter) {
      if (method === 'GET') return json(200, d.meter.snapshot());
      if (method === 'DELETE') {
        d.meter.reset();
        return json(200, d.meter.snapshot());
      }
      return json(405, { error: 'use GET to read the meter, DELETE to reset it' });
    }
    if (path === '/_local/faults' && d.faults) {
      if (method === 'GET') return json(200, d.faults.list());
      if (method === 'DELETE') {
        d.faults.clear();
        return json(200, []);
      }
      if (method === 'POST') {
        try {
          const parsed: unknown = JSON.parse(request.body.toString('utf8') || 'null');
          const rules = (Array.isArray(parsed) ? parsed : [parsed]).map(parseFaultRule);
          return json(
            201,
            rules.map((r) => d.faults?.add(r)),
          );
        } catch (err) {
          if (err instanceof FaultError || err instanceof SyntaxError) return json(400, { error: err.message });
          throw err;
        }
      }
      return json(405, { error: 'use GET to list fault rules, POST to add, DELETE to clear' });
    }
    return json(404, { error: `no control route ${method} ${path}` });
  };
};
