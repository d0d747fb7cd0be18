/**
 * Approval/Manual: publishes CodePipeline's approval notification JSON to `NotificationArn` (if set) and waits
 * for PutApprovalResult; fails when `timeoutInMinutes` (default 7 days) passes without a response.
 */
import { newId } from '../model.ts';
import type { Provider, ProviderContext } from './provider.ts';

const DEFAULT_TIMEOUT_MINUTES = 7 * 24 * 60;

/** CodePipeline's `expires` has minute precision and no seconds, e.g. `2016-07-07T20:22Z`. */
const minutePrecision = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}Z`;

export function approvalMessage(p: ProviderContext, token: string, expires: number): Record<string, unknown> {
  const region = p.action.region ?? p.ctx.region;
  const pipeline = p.exec.pipelineName;
  const consoleLink = `https://console.aws.amazon.com/codepipeline/home?region=${region}#/view/${pipeline}`;
  const config = p.run.resolvedConfiguration;
  return {
    region,
    consoleLink,
    approval: {
      pipelineName: pipeline,
      stageName: p.stageName,
      actionName: p.action.name,
      token,
      expires: minutePrecision(expires),
      // CodePipeline sends null, not an absent field, for an action without a link or custom data.
      externalEntityLink: config.ExternalEntityLink || null,
      approvalReviewLink: `${consoleLink}/${p.stageName}/${p.action.name}/approve/${token}`,
      customData: config.CustomData || null,
    },
  };
}

export const approvalProvider: Provider = {
  async run(p) {
    const token = newId();
    const deadline = p.now() + (p.action.timeoutInMinutes ?? DEFAULT_TIMEOUT_MINUTES) * 60_000;
    const topic = p.run.resolvedConfiguration.NotificationArn;
    if (topic) {
      const message = approvalMessage(p, token, deadline);
      try {
        await p.ctx.call('sns', 'Publish', {
          TopicArn: topic,
          Subject: `APPROVAL NEEDED: AWS CodePipeline ${p.exec.pipelineName} for action ${p.action.name}`.slice(0, 100),
          Message: JSON.stringify(message),
        });
        p.log(`[approval] notification published to ${topic}`);
      } catch (err) {
        // The approval can still be given through the API; say why nobody was notified.
        p.log(`[approval] could not publish the notification to ${topic}: ${(err as Error).message}`);
        p.ctx.log.warn('codepipeline approval notification failed', { topic, error: (err as Error).message });
      }
    }
    const parallel = p.exec.executionMode === 'PARALLEL';
    return { status: 'Waiting', patch: { token, deadline, ...(parallel ? { externalExecutionId: token } : {}) } };
  },
};
