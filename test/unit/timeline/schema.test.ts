import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors';
import { parseCodePipelineEvent, STATES } from '#core/schemas/codepipeline-events';
import { toTransition } from '#core/timeline/transition';
import { fixture, fixtureNames } from './fixtures.ts';

type Raw = ReturnType<typeof fixture>;

const valid = fixtureNames().filter((n) => !n.startsWith('invalid-'));

describe('CodePipeline state-change schema', () => {
  it('has a fixture for every documented detail-type × state', () => {
    const expected = [
      ...['STARTED', 'SUCCEEDED', 'RESUMED', 'FAILED', 'CANCELED', 'SUPERSEDED', 'STOPPING', 'STOPPED'].map(
        (s) => `pipeline-${s.toLowerCase()}`,
      ),
      ...['STARTED', 'SUCCEEDED', 'RESUMED', 'FAILED', 'CANCELED', 'STOPPING', 'STOPPED'].map(
        (s) => `stage-${s.toLowerCase()}`,
      ),
      ...['STARTED', 'SUCCEEDED', 'FAILED', 'CANCELED', 'ABANDONED'].map((s) => `action-${s.toLowerCase()}`),
    ];
    expect(valid).toEqual(expect.arrayContaining(expected));
  });

  it.each(valid)('parses %s and keeps its state', (name) => {
    // Prepare
    const raw = fixture(name);
    // Act
    const t = toTransition(parseCodePipelineEvent(raw));
    // Assess
    expect(t.state).toBe(raw.detail.state);
    expect(STATES).toContain(t.state);
    expect(t.scope).toBe(name.split('-')[0]);
    expect(t.executionId).toBe('12345678-1234-5678-abcd-12345678abcd');
    expect(t.eventId).toBe(raw.id);
  });

  it('coerces a string detail.version (Stage STARTED sample) and a number type.version (Action STARTED sample)', () => {
    expect(toTransition(parseCodePipelineEvent(fixture('stage-started'))).pipelineVersion).toBe(1);
    expect(toTransition(parseCodePipelineEvent(fixture('action-started'))).actionType).toEqual({
      owner: 'AWS',
      category: 'Deploy',
      provider: 'CodeDeploy',
      version: 1,
    });
    expect(toTransition(parseCodePipelineEvent(fixture('action-failed'))).actionType?.version).toBe(1);
  });

  it("keeps the pipeline's region (envelope) and the action's own region (detail) apart", () => {
    const t = toTransition(parseCodePipelineEvent(fixture('action-succeeded')));
    expect(t.region).toBe('us-east-1');
    expect(t.actionRegion).toBe('us-west-2');
    expect(t.result).toEqual({
      externalExecutionUrl:
        'https://us-west-2.console.aws.amazon.com/codecommit/home#/repository/my-repo/commit/8cf40f2EXAMPLE',
      summary: 'Added LICENSE.txt',
      externalExecutionId: '8cf40fEXAMPLE',
    });
  });

  it('reads the trigger and stop comments of pipeline events', () => {
    expect(toTransition(parseCodePipelineEvent(fixture('pipeline-started'))).trigger).toEqual({
      type: 'StartPipelineExecution',
      detail: 'arn:aws:sts::123456789012:assumed-role/Admin/my-user',
    });
    expect(toTransition(parseCodePipelineEvent(fixture('pipeline-stopping'))).stopComments).toBe(
      'Stopping the pipeline for an update',
    );
  });

  it('accepts the processed (notification) form with detailType and additionalAttributes', () => {
    const t = toTransition(parseCodePipelineEvent(fixture('pipeline-failed-processed')));
    expect(t).toMatchObject({ scope: 'pipeline', state: 'FAILED', attempt: 1 });
  });

  it('accepts events missing optional fields (no detail.version, no type, no region)', () => {
    const raw = fixture('action-canceled');
    delete raw.detail.version;
    delete raw.detail.type;
    delete raw.region;
    const t = toTransition(parseCodePipelineEvent(raw));
    expect(t).toMatchObject({ state: 'CANCELED', stage: 'Deploy', action: 'Deploy' });
    expect(t.region).toBeUndefined();
    expect(t.pipelineVersion).toBeUndefined();
  });

  it('refuses the documented ARN-in-execution-id drift with a ValidationError naming the path', () => {
    const act = () => parseCodePipelineEvent(fixture('invalid-arn-execution-id'));
    expect(act).toThrow(ValidationError);
    expect(act).toThrow(/detail\.execution-id: execution-id must be a pipeline execution id/);
  });

  it.each([
    [
      'an unknown state',
      (e: Raw) => {
        e.detail.state = 'PAUSED';
      },
      /detail\.state/,
    ],
    [
      'a non-numeric version',
      (e: Raw) => {
        e.detail.version = 'v2';
      },
      /detail\.version/,
    ],
    [
      'a missing event id',
      (e: Raw) => {
        delete e.id;
      },
      /^.*id:/,
    ],
    [
      'another source',
      (e: Raw) => {
        e.source = 'aws.codebuild';
      },
      /source/,
    ],
    [
      'an unknown detail-type',
      (e: Raw) => {
        e['detail-type'] = 'CodePipeline Job';
      },
      /detail-type/,
    ],
    [
      'a stage event without a stage',
      (e: Raw) => {
        delete e.detail.stage;
      },
      /detail\.stage/,
    ],
  ])('rejects %s', (_label, mutate, message) => {
    const raw = fixture('stage-failed');
    mutate(raw);
    expect(() => parseCodePipelineEvent(raw)).toThrow(message);
  });

  it('rejects non-objects', () => {
    expect(() => parseCodePipelineEvent('{}')).toThrow(ValidationError);
    expect(() => parseCodePipelineEvent(null)).toThrow(ValidationError);
  });
});
