import { describe, expect, it } from 'vitest';
import artifacts from '../../../events/codepipeline-job-artifacts.json' with { type: 'json' };
import basic from '../../../events/codepipeline-job-basic.json' with { type: 'json' };
import continuation from '../../../events/codepipeline-job-continuation.json' with { type: 'json' };
import noUserParameters from '../../../events/codepipeline-job-no-user-parameters.json' with { type: 'json' };
import register from '../../../events/codepipeline-job-register-test-stack.json' with { type: 'json' };
import samJob from '../../../events/codepipeline-job-sam-generate-event.json' with { type: 'json' };
import { decodeContinuation } from '../../../functions/core/jobs/continuation.ts';
import { makeJobHandler } from '../../../functions/core/jobs/job-handler.ts';
import { parseJobEvent, parseJobInput } from '../../../functions/core/jobs/schema.ts';
import { parseUserParameters } from '../../../functions/core/jobs/user-parameters.ts';
import { lambdaContext, T0, world } from './fakes.ts';

const parse = (event: unknown) => {
  const parsed = parseJobEvent(structuredClone(event));
  if (!parsed.ok) throw new Error(parsed.issues.join('; '));
  return parsed.job;
};

describe('events/codepipeline-job-*.json', () => {
  it.each([
    ['basic', basic, 'http-check'],
    ['continuation', continuation, 'wait-stack'],
    ['artifacts', artifacts, 'http-check'],
    ['register-test-stack', register, 'register-test-stack'],
  ])('%s parses, within the UserParameters limit', (_name, event, task) => {
    const job = parse(event);
    expect(job.userParameters?.length).toBeLessThanOrEqual(1000);
    expect(parseUserParameters(job.userParameters).task).toBe(task);
    expect(job.credentials?.accessKeyId).toBe('ASIAEXAMPLEJOBKEY000');
  });

  it('the continuation fixture carries Stagecrew state version 1', () => {
    const job = parse(continuation);
    expect(decodeContinuation(job.continuationToken ?? '', 'wait-stack')).toMatchObject({
      v: 1,
      n: 1,
      s: { last: 'CREATE_IN_PROGRESS' },
    });
  });

  it('the artifacts fixture names its S3 locations and tolerates a null revision', () => {
    expect(parse(artifacts).inputArtifacts).toEqual([
      {
        name: 'BuildOutput',
        revision: undefined,
        bucket: 'codepipeline-us-east-1-111111111111',
        key: 'awscicd-pipeline/BuildOutpu/Xk3fJ2a',
      },
      {
        name: 'SourceOutput',
        revision: '4e1f0c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f',
        bucket: 'codepipeline-us-east-1-111111111111',
        key: 'awscicd-pipeline/SourceOutp/Pq9wL0z',
      },
    ]);
  });

  it('runs the continuation fixture to success once the stack is complete', async () => {
    const w = world();
    w.clock.t = T0 + 5 * 60_000;
    w.stacks.put({
      stackName: 'test-3a1c2b4d',
      stackId: 'arn:aws:cloudformation:us-east-1:111111111111:stack/test-3a1c2b4d/5f0e8a40-c8a1-11f0-9a2b-0affd1c0a1b3',
      status: 'CREATE_COMPLETE',
    });
    const result = await makeJobHandler(w.deps)(parseJobInput(structuredClone(continuation)), lambdaContext());
    expect(result).toMatchObject({ task: 'wait-stack', kind: 'success', outcome: 'reported' });
    expect(w.reporter.reports[0]).toMatchObject({ externalExecutionId: '11111111-abcd-1111-abcd-111111abcdef' });
  });

  it('runs the basic fixture (http-check) against a healthy endpoint', async () => {
    const w = world();
    w.http.answers.set('https://test.example.com/health', [{ status: 200, body: '{"status":"ok"}', ms: 80 }]);
    const result = await makeJobHandler(w.deps)(parseJobInput(structuredClone(basic)), lambdaContext());
    expect(result).toMatchObject({ task: 'http-check', kind: 'success' });
    expect(w.reporter.reports[0]).toMatchObject({ outputVariables: { MaxLatencyMs: '80' } });
  });

  it("sam local generate-event's job (revision null, a continuation token not ours, plain-text UserParameters) fails as a configuration error", async () => {
    const job = parse(samJob);
    expect(job.inputArtifacts[0]).toMatchObject({ name: 'ArtifactName', revision: undefined });
    expect(job.continuationToken).toBe('A continuation token if continuing job');
    const w = world();
    const result = await makeJobHandler(w.deps)(parseJobInput(structuredClone(samJob)), lambdaContext());
    expect(result).toMatchObject({ kind: 'failure', outcome: 'reported' });
    expect(w.reporter.reports).toHaveLength(1);
    expect(w.reporter.reports[0]).toMatchObject({
      kind: 'failure',
      type: 'ConfigurationError',
      message: expect.stringMatching(/^UserParameters: not valid JSON/),
    });
    // The job's credentials never reach a report.
    expect(JSON.stringify(w.reporter.reports)).not.toContain('wJalrXUtnFEMI');
  });

  it('a job without UserParameters fails with a message that says what to configure', async () => {
    expect(parse(noUserParameters).userParameters).toBeUndefined();
    const w = world();
    const result = await makeJobHandler(w.deps)(parseJobInput(structuredClone(noUserParameters)), lambdaContext());
    expect(result).toMatchObject({ kind: 'failure', outcome: 'reported' });
    expect(w.reporter.reports[0]).toMatchObject({
      kind: 'failure',
      type: 'ConfigurationError',
      message: expect.stringMatching(/^UserParameters: required: a JSON object/),
    });
  });
});
