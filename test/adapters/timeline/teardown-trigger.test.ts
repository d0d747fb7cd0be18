import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { StepFunctionsTeardown } from '#core/adapters/stepfunctions';
import { planTeardown } from '#core/teardown/trigger';
import { handleRaw, makeWorld } from '../../unit/timeline/fakes.ts';
import { fixture } from '../../unit/timeline/fixtures.ts';

const EXEC = '12345678-1234-5678-abcd-12345678abcd';
const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine:Teardown';
const sfn = mockClient(SFNClient);

/** The pipeline-events use case wired to the real teardown trigger and Step Functions adapter (SDK mocked). */
const world = () => {
  const w = makeWorld();
  w.deps.teardown = {
    plan: planTeardown,
    starter: new StepFunctionsTeardown(new SFNClient({ region: 'us-east-1' }), SM),
  };
  return w;
};

beforeEach(() => sfn.reset());

describe('teardown trigger from pipeline events', () => {
  it('starts the teardown state machine for a FAILED execution with a deterministic name', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${SM}:x`, startDate: new Date() });
    const out = await handleRaw(fixture('pipeline-failed'), world().deps);
    expect(out).toMatchObject({ teardown: 'started' });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: SM,
      name: `myPipeline--${EXEC}`,
      input: JSON.stringify({
        pipeline: 'myPipeline',
        executionId: EXEC,
        reason: 'FAILED',
        dryRun: false,
        graceSeconds: 300,
      }),
    });
  });

  it('treats ExecutionAlreadyExists (a second FAILED delivery with another event id) as success', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    const out = await handleRaw(fixture('pipeline-failed'), world().deps);
    expect(out).toMatchObject({ status: 'processed', teardown: 'started' });
  });

  it('stops the pending teardown by execution ARN when the execution RESUMES', async () => {
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    const w = world();
    await handleRaw(fixture('pipeline-resumed'), w.deps);
    expect(sfn).toHaveReceivedCommandWith(StopExecutionCommand, {
      executionArn: `arn:aws:states:us-east-1:123456789012:execution:Teardown:myPipeline--${EXEC}`,
    });
  });

  it('does not start teardown for SUCCEEDED or SUPERSEDED under the default policy', async () => {
    const w = world();
    await handleRaw(fixture('pipeline-succeeded'), w.deps);
    await handleRaw(fixture('pipeline-superseded'), world().deps);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});
