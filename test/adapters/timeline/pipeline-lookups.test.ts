import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  PipelineExecutionNotFoundException,
} from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CodePipelineGateway } from '#core/adapters/codepipeline';
import { NotFoundError } from '#core/errors';
import { buildView } from '#core/notify/view';
import { parseCodePipelineEvent } from '#core/schemas/codepipeline-events';
import { toTransition } from '#core/timeline/transition';
import { fixture } from '../../unit/timeline/fixtures.ts';

const EXEC = '12345678-1234-5678-abcd-12345678abcd';
const cp = mockClient(CodePipelineClient);
const gateway = new CodePipelineGateway(new CodePipelineClient({ region: 'us-east-1' }));

beforeEach(() => cp.reset());

describe('failure-message lookups against CodePipeline', () => {
  it('reads the revision with GetPipelineExecution and the failed action with paged ListActionExecutions', async () => {
    // Prepare
    cp.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: {
        pipelineName: 'myPipeline',
        pipelineExecutionId: EXEC,
        status: 'Failed',
        artifactRevisions: [
          { name: 'SourceArtifact', revisionId: '8cf40f2EXAMPLE', revisionSummary: 'Added LICENSE.txt' },
        ],
      },
    });
    cp.on(ListActionExecutionsCommand)
      .resolvesOnce({
        actionExecutionDetails: [
          {
            pipelineExecutionId: EXEC,
            stageName: 'Source',
            actionName: 'Source',
            status: 'Succeeded',
            startTime: new Date('2020-01-24T22:03:08Z'),
          },
        ],
        nextToken: 'page-2',
      })
      .resolvesOnce({
        actionExecutionDetails: [
          {
            pipelineExecutionId: EXEC,
            stageName: 'Deploy',
            actionName: 'Deploy',
            status: 'Failed',
            startTime: new Date('2020-01-24T22:08:00Z'),
            input: { actionTypeId: { category: 'Deploy', owner: 'AWS', provider: 'CodeDeploy', version: '1' } },
            output: {
              executionResult: {
                externalExecutionId: 'd-EXAMPLE11',
                externalExecutionSummary: 'Deployment d-EXAMPLE11 failed',
                externalExecutionUrl: 'https://console.aws.amazon.com/codedeploy/home#/deployments/d-EXAMPLE11',
                errorDetails: { code: 'JobFailed', message: 'Deployment d-EXAMPLE11 failed: 2 of 2 instances failed' },
              },
            },
          },
        ],
      });
    const t = toTransition(parseCodePipelineEvent(fixture('pipeline-failed')));
    // Act
    const view = await buildView(t, undefined, gateway, () => {});
    // Assess
    expect(cp).toHaveReceivedCommandWith(GetPipelineExecutionCommand, {
      pipelineName: 'myPipeline',
      pipelineExecutionId: EXEC,
    });
    expect(cp).toHaveReceivedNthCommandWith(ListActionExecutionsCommand, 1, {
      pipelineName: 'myPipeline',
      filter: { pipelineExecutionId: EXEC },
      maxResults: 100,
    });
    expect(cp).toHaveReceivedNthCommandWith(ListActionExecutionsCommand, 2, {
      pipelineName: 'myPipeline',
      filter: { pipelineExecutionId: EXEC },
      maxResults: 100,
      nextToken: 'page-2',
    });
    expect(view.revision).toEqual({ id: '8cf40f2EXAMPLE', summary: 'Added LICENSE.txt', source: 'SourceArtifact' });
    expect(view.failures).toEqual([
      {
        stage: 'Deploy',
        action: 'Deploy',
        summary: 'Deployment d-EXAMPLE11 failed: 2 of 2 instances failed',
        errorCode: 'JobFailed',
        externalUrl: 'https://console.aws.amazon.com/codedeploy/home#/deployments/d-EXAMPLE11',
        provider: 'CodeDeploy',
      },
    ]);
  });

  it('degrades to a message without details when the execution is unknown', async () => {
    cp.on(GetPipelineExecutionCommand).rejects(
      new PipelineExecutionNotFoundException({ message: 'not found', $metadata: {} }),
    );
    cp.on(ListActionExecutionsCommand).resolves({ actionExecutionDetails: [] });
    await expect(gateway.getPipelineExecution('myPipeline', EXEC)).rejects.toThrow(NotFoundError);
    const t = toTransition(parseCodePipelineEvent(fixture('pipeline-failed')));
    const view = await buildView(t, undefined, gateway, () => {});
    expect(view.missing).toEqual(['revision']);
    expect(view.failures).toEqual([]);
  });
});
