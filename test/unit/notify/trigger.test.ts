import { describe, expect, it } from 'vitest';
import { describeTrigger } from '#core/notify/format';
import { renderSlack } from '#core/notify/render-slack';
import type { NotificationView } from '#core/notify/view';
import { parseCodePipelineEvent } from '#core/schemas/codepipeline-events';
import { toTransition } from '#core/timeline/transition';
import { fixture } from '../timeline/fixtures.ts';

const triggerOf = (name: string) => toTransition(parseCodePipelineEvent(fixture(name))).trigger;

describe('who or what triggered a run', () => {
  it('names a V2 Git tag trigger: tag, commit, provider, repository and the commit author', () => {
    expect(describeTrigger(triggerOf('pipeline-started-v2-git-tag'))).toBe(
      'tag gitTag · c2e9b9a · GitHub mmajor/my-repo by Mary Major <mmajor@example.com>',
    );
  });

  it('names the caller of a manual start from its STS session, and an IAM user by name', () => {
    expect(describeTrigger(triggerOf('pipeline-started'))).toBe('StartPipelineExecution by my-user (Admin)');
    expect(describeTrigger({ type: 'StartPipelineExecution', detail: 'arn:aws:iam::123456789012:user/ops/ana' })).toBe(
      'StartPipelineExecution by ana',
    );
  });

  it('shows a non-identity detail as the origin, and nothing when there is nothing', () => {
    expect(
      describeTrigger({ type: 'CloudWatchEvent', detail: 'arn:aws:events:us-east-1:123456789012:rule/nightly' }),
    ).toBe('CloudWatchEvent from arn:aws:events:us-east-1:123456789012:rule/nightly');
    expect(describeTrigger(undefined)).toBeUndefined();
    expect(describeTrigger({})).toBeUndefined();
  });

  it('reaches Slack escaped: an author name cannot ping a channel or forge a link', () => {
    const view: NotificationView = {
      pipeline: 'web',
      executionId: '12345678-1234-5678-abcd-12345678abcd',
      scope: 'pipeline',
      state: 'STARTED',
      time: '2024-07-11T18:55:23.000Z',
      failures: [],
      missing: [],
      trigger: { tag: 'v1', author: '<!channel> <https://evil.example|click>' },
    };
    const text = JSON.stringify(renderSlack(view, 'C1'));
    expect(text).toContain('*Triggered by*\\ntag v1 by &lt;!channel&gt; &lt;https://evil.example|click&gt;');
  });
});
