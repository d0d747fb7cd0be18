import { describe, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '#core/errors';
import { handleRaw, makeWorld, unavailable } from '../timeline/fakes.ts';
import { fixture } from '../timeline/fixtures.ts';

const EXEC = '12345678-1234-5678-abcd-12345678abcd';

describe('handlePipelineEvent', () => {
  it('records each transition once: a redelivered event id is skipped', async () => {
    // Prepare
    const w = makeWorld();
    const event = fixture('pipeline-failed');
    // Act
    const first = await handleRaw(event, w.deps);
    const again = await handleRaw(structuredClone(event), w.deps);
    // Assess
    expect(first).toMatchObject({ status: 'processed', advanced: true, teardown: 'started' });
    expect(again).toEqual({ status: 'duplicate', eventId: event.id, reason: 'done' });
    expect(w.timeline.writes).toBe(1);
    expect(w.slack.posted).toHaveLength(1);
    expect(w.starter.started).toHaveLength(1);
  });

  it('builds one execution with its stages and actions from a run delivered out of order', async () => {
    const w = makeWorld();
    for (const name of ['action-failed', 'pipeline-failed', 'stage-failed', 'pipeline-started', 'action-succeeded']) {
      await handleRaw(fixture(name), w.deps);
    }
    const execution = w.timeline.record({ type: 'execution', executionId: EXEC });
    expect(execution).toMatchObject({
      state: 'FAILED',
      startedAt: '2020-01-24T22:03:07.000Z',
      endedAt: '2020-01-24T22:09:52.000Z',
      durationMs: 405_000,
      trigger: { type: 'StartPipelineExecution' },
    });
    const rows = await w.timeline.listExecution(EXEC);
    expect(rows.map((r) => r.type).sort()).toEqual([
      'action-execution',
      'action-execution',
      'execution',
      'stage-execution',
    ]);
    expect(await w.timeline.listExecutions('myPipeline')).toHaveLength(1);
  });

  it('a stale STARTED after FAILED neither notifies nor touches teardown', async () => {
    const w = makeWorld(
      (await import('../timeline/fakes.ts')).testSettings({
        rules: [{ pipeline: '*', states: ['*'], scope: ['pipeline'], slackChannels: ['C1'], emails: [] }],
      }),
    );
    await handleRaw(fixture('pipeline-failed'), w.deps);
    const late = await handleRaw(fixture('pipeline-started'), w.deps);
    expect(late).toMatchObject({
      status: 'processed',
      advanced: false,
      teardown: 'none',
      notification: { status: 'stale' },
    });
    expect(w.slack.posted).toHaveLength(1);
  });

  it('cancels the pending teardown when the execution is RESUMED, and a stale FAILED does not restart it', async () => {
    const w = makeWorld();
    await handleRaw(fixture('pipeline-failed'), w.deps);
    const resumed = await handleRaw(fixture('pipeline-resumed'), w.deps);
    expect(resumed).toMatchObject({ teardown: 'stopped' });
    expect(w.starter.stopped).toEqual([w.starter.started[0]?.name]);
    // The processed copy of the same FAILED (another event id) arrives late: stale, no second teardown.
    const processedCopy = { ...fixture('pipeline-failed-processed'), time: fixture('pipeline-failed').time };
    const staleFailed = await handleRaw(processedCopy, w.deps);
    expect(staleFailed).toMatchObject({ advanced: false, teardown: 'none' });
    expect(w.starter.started).toHaveLength(1);
  });

  it('only pipeline-level transitions reach the teardown trigger', async () => {
    const w = makeWorld();
    await handleRaw(fixture('stage-failed'), w.deps);
    await handleRaw(fixture('action-failed'), w.deps);
    expect(w.starter.started).toEqual([]);
  });

  it('releases the claim when a step fails, so the retry processes the event without repeating deliveries', async () => {
    // Prepare: Slack for one channel is throttled, the other channel and the email succeed.
    const w = makeWorld(
      (await import('../timeline/fakes.ts')).testSettings({
        rules: [
          {
            pipeline: '*',
            states: ['FAILED'],
            scope: ['pipeline'],
            slackChannels: ['C-OK', 'C-SLOW'],
            emails: ['a@example.com'],
          },
        ],
      }),
    );
    w.slack.failures.set('C-SLOW', unavailable('slack'));
    const event = fixture('pipeline-failed');
    // Act + Assess: the first attempt fails (retryable) after delivering to the healthy destinations.
    await expect(handleRaw(event, w.deps)).rejects.toThrow(/notification delivery failed for 1/);
    expect(w.slack.posted.map((m) => m.channel)).toEqual(['C-OK']);
    expect(w.mailer.sent).toHaveLength(1);
    // The retry delivers only what is missing.
    w.slack.failures.clear();
    const retry = await handleRaw(event, w.deps);
    expect(retry).toMatchObject({ status: 'processed', notification: { status: 'sent', delivered: ['slack:C-SLOW'] } });
    expect(w.slack.posted.map((m) => m.channel)).toEqual(['C-OK', 'C-SLOW']);
    expect(w.mailer.sent).toHaveLength(1);
    expect(w.starter.started).toHaveLength(2); // idempotent by name in the real adapter
  });

  it('a permanent delivery error (unknown channel) is logged, not retried', async () => {
    const w = makeWorld();
    const { SlackApiError } = await import('#core/adapters/slack');
    w.slack.failures.set('C-DEPLOYS', new SlackApiError('chat.postMessage', 'channel_not_found'));
    const out = await handleRaw(fixture('pipeline-failed'), w.deps);
    expect(out).toMatchObject({
      notification: { status: 'sent', failed: ['slack:C-DEPLOYS'], delivered: ['email:team@example.com'] },
    });
  });

  it('a pipeline name with a lone surrogate is recorded, torn down once and notified with a safe link', async () => {
    const w = makeWorld();
    const event = fixture('pipeline-failed');
    event.detail.pipeline = 'my\ud800';
    const first = await handleRaw(event, w.deps);
    expect(first).toMatchObject({ status: 'processed', teardown: 'started', notification: { status: 'sent' } });
    expect(JSON.stringify(w.slack.posted)).toContain('/pipelines/my%EF%BF%BD/executions/');
    expect(w.mailer.sent).toHaveLength(1);
    // Done, not released: a redelivery is a duplicate and starts nothing again.
    expect(await handleRaw(structuredClone(event), w.deps)).toMatchObject({ status: 'duplicate' });
    expect(w.starter.started).toHaveLength(1);
  });

  it('a defect while notifying is logged and the event completes instead of failing on every retry', async () => {
    const w = makeWorld();
    const errors: unknown[] = [];
    w.deps.logger = { ...w.deps.logger, error: (...args: unknown[]) => errors.push(args) };
    // A lookup answering in an unexpected shape: building the message throws a TypeError, as it would on every retry.
    w.pipelines.execution = { pipelineName: 'myPipeline', pipelineExecutionId: EXEC, status: 'Failed' } as never;
    const event = fixture('pipeline-failed');
    const out = await handleRaw(event, w.deps);
    expect(out).toMatchObject({ status: 'processed', teardown: 'started', notification: { status: 'failed' } });
    expect(out.status === 'processed' && out.notification.status === 'failed' && out.notification.error).toMatch(
      /^TypeError: /,
    );
    expect(errors).toHaveLength(1);
    expect(await handleRaw(structuredClone(event), w.deps)).toMatchObject({ status: 'duplicate' });
    expect(w.starter.started).toHaveLength(1);
  });

  it('the delivery summary never holds up teardown: a defect there is logged, a throttled write is retried', async () => {
    const w = makeWorld();
    const errors: unknown[] = [];
    w.deps.logger = { ...w.deps.logger, error: (...args: unknown[]) => errors.push(args) };
    const put = w.delivery.put.bind(w.delivery);
    w.delivery.put = async () => {
      throw new TypeError('a defect in the summary projection');
    };
    const out = await handleRaw(fixture('pipeline-failed'), w.deps);
    expect(out).toMatchObject({ status: 'processed', teardown: 'started', figures: [] });
    expect(errors).toHaveLength(1);
    expect(w.starter.started).toHaveLength(1);

    // Throttled past the SDK's retries: the event fails after teardown started, and the platform's retry completes
    // the summary; its second start of the same execution name is one Step Functions answers `already-exists`.
    const event = fixture('pipeline-failed');
    event.id = 'another-delivery';
    event.detail['execution-id'] = '22222222-1234-5678-abcd-12345678abcd';
    w.delivery.put = async () => {
      throw unavailable('delivery summary PutItem');
    };
    await expect(handleRaw(event, w.deps)).rejects.toMatchObject({ name: 'UnavailableError' });
    w.delivery.put = put;
    const retried = await handleRaw(structuredClone(event), w.deps);
    expect(retried).toMatchObject({ status: 'processed', figures: [{ name: 'Failures' }] });
    expect(w.starter.started.filter((s) => s.name.includes('22222222'))).toHaveLength(2);
    expect(await w.delivery.get('22222222-1234-5678-abcd-12345678abcd')).toMatchObject({ revision: 1 });
  });

  it('a claim held by another invocation fails a redelivery (the retry comes back); an expired lease does not', async () => {
    const w = makeWorld();
    const event = fixture('pipeline-failed');
    // Held by an invocation that may have crashed (SIGKILL, sandbox lost): skipping would lose the event for good,
    // with no timeline record and no teardown; failing makes Lambda retry it.
    await w.ledger.claim(String(event.id), w.clock.now());
    await expect(handleRaw(event, w.deps)).rejects.toThrow(ConflictError);
    expect(w.starter.started).toHaveLength(0);
    w.clock.set(new Date(w.clock.now().getTime() + 121_000));
    expect(await handleRaw(event, w.deps)).toMatchObject({ status: 'processed', teardown: 'started' });
    expect(w.starter.started).toHaveLength(1);
  });

  it('bad input fails fast with a ValidationError and claims nothing', async () => {
    const w = makeWorld();
    await expect(handleRaw(fixture('invalid-arn-execution-id'), w.deps)).rejects.toThrow(ValidationError);
    expect(w.ledger.entries.size).toBe(0);
  });
});
