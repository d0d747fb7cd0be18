/**
 * The local CodePipeline's EventBridge events against AWS's documented shapes: every emitted event parses with
 * Stagecrew's own event schema, and carries every detail field (with the same JSON type) that the `events/`
 * fixture for the same detail type and state carries.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCodePipelineEvent } from '#core/schemas/codepipeline-events';
import {
  approvalAction,
  type Loose,
  lambdaAction,
  makeHarness,
  pipeline,
  sourceStage,
  testProviders,
} from './harness.ts';

const scope = (detailType: string) => detailType.split(' ')[1]?.toLowerCase() as string;
const kind = (v: unknown) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

async function emitEverything() {
  const h = makeHarness({ providers: testProviders() });
  // success path with an approval and an Invoke action
  await h.op('CreatePipeline', {
    pipeline: pipeline('ev', [
      sourceStage(),
      { name: 'Approve', actions: [approvalAction('Gate')] },
      { name: 'Test', actions: [lambdaAction('Check', 'fn', { inputArtifacts: [{ name: 'SourceOutput' }] })] },
    ]),
  });
  const token = (await h.op<Loose>('GetPipelineState', { name: 'ev' })).stageStates[1].actionStates[0].latestExecution
    .token;
  await h.op('PutApprovalResult', {
    pipelineName: 'ev',
    stageName: 'Approve',
    actionName: 'Gate',
    token,
    result: { status: 'Approved', summary: 'ok' },
  });
  await h.op('PutJobFailureResult', { jobId: h.job(0).id, failureDetails: { type: 'JobFailed', message: 'boom' } });
  const failed = await h.latestExecutionId('ev');
  await h.op('RetryStageExecution', {
    pipelineName: 'ev',
    stageName: 'Test',
    pipelineExecutionId: failed,
    retryMode: 'FAILED_ACTIONS',
  });
  await h.op('PutJobSuccessResult', { jobId: h.job(1).id });
  // stop, abandon and supersede
  const { pipelineExecutionId: a } = await h.op<{ pipelineExecutionId: string }>('StartPipelineExecution', {
    name: 'ev',
  });
  await h.op('StopPipelineExecution', { pipelineName: 'ev', pipelineExecutionId: a, reason: 'stop it' });
  await h.op('StopPipelineExecution', { pipelineName: 'ev', pipelineExecutionId: a, abandon: true, reason: 'stop it' });
  await h.op('StartPipelineExecution', { name: 'ev' });
  await h.op('StartPipelineExecution', { name: 'ev' });
  await h.op('StartPipelineExecution', { name: 'ev' });
  return h.events;
}

describe('local CodePipeline events match the documented shapes', () => {
  it('parse with the control plane schema and carry the fixture fields', async () => {
    const events = await emitEverything();
    const seen = new Set<string>();
    for (const e of events) {
      const bus = {
        version: '0',
        id: '00000000-0000-4000-8000-000000000000',
        'detail-type': e.DetailType,
        source: 'aws.codepipeline',
        account: '123456789012',
        time: '2026-01-01T00:00:00Z',
        region: 'us-east-1',
        resources: ['arn:aws:codepipeline:us-east-1:123456789012:ev'],
        detail: e.detail,
      };
      expect(() => parseCodePipelineEvent(bus), `${e.DetailType} ${String(e.detail.state)}`).not.toThrow();
      const fixture = `events/eventbridge-codepipeline-${scope(e.DetailType)}-${String(e.detail.state).toLowerCase()}.json`;
      if (!existsSync(fixture)) continue;
      seen.add(fixture);
      const documented = JSON.parse(readFileSync(fixture, 'utf8')).detail as Record<string, unknown>;
      for (const [key, value] of Object.entries(documented)) {
        if (key === 'region' && scope(e.DetailType) !== 'action') continue;
        if (key === 'execution-result' && !e.detail[key]) continue; // only when there is a result to report
        // artifacts appear only for actions that have them (Source has no inputs; Gate and Check no outputs)
        if (key === 'input-artifacts' && e.detail.action !== 'Check') continue;
        if (key === 'output-artifacts' && e.detail.action !== 'Source') continue;
        expect(e.detail, `${fixture}: ${key}`).toHaveProperty([key]);
        if (key !== 'version' && key !== 'type') expect(kind(e.detail[key]), `${fixture}: ${key}`).toBe(kind(value));
      }
    }
    expect([...seen].sort()).toEqual(
      [
        'action-abandoned',
        'action-failed',
        'action-started',
        'action-succeeded',
        'pipeline-failed',
        'pipeline-resumed',
        'pipeline-started',
        'pipeline-stopped',
        'pipeline-stopping',
        'pipeline-succeeded',
        'pipeline-superseded',
        'stage-failed',
        'stage-resumed',
        'stage-started',
        'stage-stopped',
        'stage-stopping',
        'stage-succeeded',
      ].map((s) => `events/eventbridge-codepipeline-${s}.json`),
    );
  });
});
