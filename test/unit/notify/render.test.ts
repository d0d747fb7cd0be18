import { describe, expect, it } from 'vitest';
import { escapeMrkdwn } from '#core/escape';
import { renderEmail } from '#core/notify/render-email';
import { renderSlack } from '#core/notify/render-slack';
import { buildView, failedActions, revisionMessage } from '#core/notify/view';
import type { ActionExecutionInfo } from '#core/ports';
import { parseCodePipelineEvent } from '#core/schemas/codepipeline-events';
import type { TimelineRecord } from '#core/timeline/record';
import { toTransition } from '#core/timeline/transition';
import { FakePipelines } from '../timeline/fakes.ts';
import { fixture } from '../timeline/fixtures.ts';

const EXEC = '12345678-1234-5678-abcd-12345678abcd';
const warn = () => {};

const action = (over: Partial<ActionExecutionInfo>): ActionExecutionInfo => ({
  pipelineExecutionId: EXEC,
  actionExecutionId: 'ae-1',
  stageName: 'Source',
  actionName: 'Source',
  status: 'Succeeded',
  ...over,
});

const failingPipelines = () => {
  const p = new FakePipelines();
  p.execution = {
    pipelineName: 'myPipeline',
    pipelineExecutionId: EXEC,
    status: 'Failed',
    statusSummary: 'Deployment failed',
    sourceRevisions: [
      {
        actionName: 'Source',
        revisionId: '8cf40f2a1b3c4d5e6f708192a3b4c5d6e7f80912',
        revisionSummary: JSON.stringify({
          ProviderType: 'GitHub',
          CommitMessage: 'Fix <script> handling & retries\n\nLong body',
        }),
        revisionUrl: 'https://github.com/example/app/commit/8cf40f2a1b3c4d5e6f708192a3b4c5d6e7f80912',
      },
    ],
  };
  p.actions = [
    action({ startTime: new Date('2020-01-24T22:03:10Z') }),
    action({
      stageName: 'Build',
      actionName: 'Build',
      provider: 'CodeBuild',
      startTime: new Date('2020-01-24T22:04:00Z'),
    }),
    // The first Deploy attempt failed, was retried and failed again: only the latest attempt is reported.
    action({
      stageName: 'Deploy',
      actionName: 'Deploy',
      status: 'Failed',
      provider: 'CodeDeploy',
      startTime: new Date('2020-01-24T22:06:00Z'),
      errorDetails: { code: 'JobFailed', message: 'first attempt' },
    }),
    action({
      stageName: 'Deploy',
      actionName: 'Deploy',
      status: 'Failed',
      provider: 'CodeDeploy',
      startTime: new Date('2020-01-24T22:08:00Z'),
      errorDetails: { code: 'JobFailed', message: 'Deployment d-EXAMPLE11 failed: 2 of 2 instances failed' },
      externalExecutionUrl: 'https://us-west-2.console.aws.amazon.com/codedeploy/home?#/deployments/d-EXAMPLE11',
    }),
  ];
  return p;
};

const record = { durationMs: 405_000, trigger: { type: 'StartPipelineExecution' } } as TimelineRecord;

describe('failure message content', () => {
  it('names the failed stage and action, error summary, link, revision and duration (Block Kit snapshot)', async () => {
    // Prepare
    const t = toTransition(parseCodePipelineEvent(fixture('pipeline-failed')));
    const pipelines = failingPipelines();
    // Act
    const view = await buildView(t, record, pipelines, warn);
    const message = renderSlack(view, 'C-DEPLOYS');
    // Assess
    expect(pipelines.calls).toEqual([
      `GetPipelineExecution myPipeline ${EXEC}`,
      `ListActionExecutions myPipeline ${EXEC}`,
    ]);
    expect(view.failures).toEqual([
      {
        stage: 'Deploy',
        action: 'Deploy',
        summary: 'Deployment d-EXAMPLE11 failed: 2 of 2 instances failed',
        errorCode: 'JobFailed',
        externalUrl: 'https://us-west-2.console.aws.amazon.com/codedeploy/home?#/deployments/d-EXAMPLE11',
        provider: 'CodeDeploy',
      },
    ]);
    expect(message.text).toBe(
      'myPipeline FAILED at Deploy › Deploy: Deployment d-EXAMPLE11 failed: 2 of 2 instances failed',
    );
    expect(message).toMatchSnapshot();
  });

  it('renders the same failure as an email (snapshot), escaping HTML', async () => {
    const t = toTransition(parseCodePipelineEvent(fixture('pipeline-failed')));
    const view = await buildView(t, record, failingPipelines(), warn);
    const email = renderEmail(view, ['team@example.com']);
    expect(email.html).toContain('Fix &lt;script&gt; handling &amp; retries');
    expect(email.html).not.toContain('<script>');
    expect(email).toMatchSnapshot();
  });

  it('uses the action event’s own execution result for an action FAILED (Block Kit snapshot)', async () => {
    const t = toTransition(parseCodePipelineEvent(fixture('action-failed')));
    const pipelines = failingPipelines();
    const view = await buildView(t, undefined, pipelines, warn);
    expect(pipelines.calls).toEqual([`GetPipelineExecution myPipeline ${EXEC}`]);
    expect(renderSlack(view, 'C-ACTIONS')).toMatchSnapshot();
  });

  it('limits a stage FAILED to that stage’s actions', () => {
    const p = failingPipelines();
    expect(failedActions(p.actions as ActionExecutionInfo[], 'Build')).toEqual([]);
    expect(failedActions(p.actions as ActionExecutionInfo[], 'Deploy')).toHaveLength(1);
  });

  it('does not report a retried action that finally succeeded', () => {
    const actions = [
      action({ stageName: 'Test', actionName: 'Flaky', status: 'Failed', startTime: new Date(1) }),
      action({ stageName: 'Test', actionName: 'Flaky', status: 'Succeeded', startTime: new Date(2) }),
    ];
    expect(failedActions(actions)).toEqual([]);
  });

  it('still sends a message when CodePipeline lookups fail, saying what is missing (Block Kit snapshot)', async () => {
    const t = toTransition(parseCodePipelineEvent(fixture('pipeline-failed')));
    const p = new FakePipelines();
    p.execution = Object.assign(new Error('AccessDeniedException'), { name: 'PermissionError' });
    p.actions = new Error('throttled');
    const view = await buildView(t, undefined, p, warn);
    expect(view.missing).toEqual(['revision', 'failed actions']);
    expect(renderSlack(view, 'C1')).toMatchSnapshot();
  });

  it('renders a non-failure state without lookups for non-terminal states (Block Kit snapshot)', async () => {
    const t = toTransition(parseCodePipelineEvent(fixture('pipeline-stopping')));
    const p = new FakePipelines();
    const view = await buildView(t, undefined, p, warn);
    expect(p.calls).toEqual([]);
    expect(renderSlack(view, 'C1')).toMatchSnapshot();
  });

  it('escapes Slack control characters and refuses non-http links', async () => {
    expect(escapeMrkdwn('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
    const t = toTransition(parseCodePipelineEvent(fixture('action-failed')));
    t.result = { summary: '<!here> boom', externalExecutionUrl: 'javascript:alert(1)' };
    const view = await buildView(t, undefined, new FakePipelines(), warn);
    const json = JSON.stringify(renderSlack(view, 'C1').blocks);
    expect(json).toContain('&lt;!here&gt; boom');
    expect(json).not.toContain('javascript:');
  });

  it('keeps the email subject on one line', async () => {
    const t = toTransition(parseCodePipelineEvent(fixture('action-failed')));
    t.result = { summary: 'line one\r\nBcc: attacker@example.com' };
    const view = await buildView(t, undefined, new FakePipelines(), warn);
    expect(renderEmail(view, ['a@example.com']).subject).not.toMatch(/[\r\n]/);
  });

  it.each([
    ['plain CodeCommit message', 'Added LICENSE.txt', 'Added LICENSE.txt'],
    ['GitHub JSON summary', '{"ProviderType":"GitHub","CommitMessage":"Bump deps\\n\\nbody"}', 'Bump deps'],
    ['broken JSON', '{not json', '{not json'],
    ['empty', '', undefined],
  ])('reads the commit message from a %s', (_l, summary, expected) => {
    expect(revisionMessage(summary)).toBe(expected);
  });
});

describe('Block Kit limits', () => {
  it('lists at most 10 failed actions and counts the rest', async () => {
    const t = toTransition(parseCodePipelineEvent(fixture('pipeline-failed')));
    const p = new FakePipelines();
    p.actions = Array.from({ length: 14 }, (_, i) =>
      action({ stageName: 'Test', actionName: `Shard${i}`, status: 'Failed', startTime: new Date(i * 1000) }),
    );
    const message = renderSlack(await buildView(t, undefined, p, warn), 'C1');
    const texts = (message.blocks as Array<{ text?: { text: string } }>).map((b) => b.text?.text ?? '');
    expect(texts.filter((x) => x.startsWith(':x: *Failed:*'))).toHaveLength(10);
    expect(texts).toContain('…and 4 more failed actions (see the execution)');
    expect(message.blocks?.length).toBeLessThanOrEqual(50);
  });

  it('caps the header at 150 characters', async () => {
    const e = fixture('stage-failed');
    e.detail.pipeline = 'p'.repeat(100);
    e.detail.stage = 's'.repeat(100);
    const t = toTransition(parseCodePipelineEvent(e));
    const message = renderSlack(await buildView(t, undefined, new FakePipelines(), warn), 'C1');
    const [first] = (message.blocks ?? []) as Array<{ text: { text: string } }>;
    const header = first?.text.text ?? '';
    expect(header.length).toBe(150);
    expect(header.endsWith('…')).toBe(true);
  });
});
