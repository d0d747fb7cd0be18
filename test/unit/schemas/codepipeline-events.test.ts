import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors';
import { parseCodePipelineEvent, STATES } from '#core/schemas/codepipeline-events';
import { toTransition } from '#core/timeline/transition';
import { fixture, fixtureNames } from '../timeline/fixtures.ts';

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
    expect(t.executionId).toBe(raw.detail['execution-id']);
    // The processed (notification) form has no id: it gets one derived from its content.
    expect(t.eventId).toBe(raw.id ?? t.eventId.match(/^content-[0-9a-f]{40}$/)?.[0]);
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

  it('accepts the processed (notification) form, which has no id: the dedupe key comes from its content', () => {
    const raw = fixture('pipeline-failed-processed');
    expect(raw.id).toBeUndefined();
    const t = toTransition(parseCodePipelineEvent(raw));
    expect(t).toMatchObject({ scope: 'pipeline', state: 'FAILED', attempt: 1, pipelineVersion: 4 });
    expect(t.eventId).toMatch(/^content-[0-9a-f]{40}$/);
    // A redelivery, its keys in another order, has the same key; another state change has another.
    const reordered = Object.fromEntries(Object.entries(fixture('pipeline-failed-processed')).reverse());
    expect(toTransition(parseCodePipelineEvent(reordered)).eventId).toBe(t.eventId);
    const retried = fixture('pipeline-failed-processed');
    retried.detail['pipeline-execution-attempt'] = 2;
    expect(toTransition(parseCodePipelineEvent(retried)).eventId).not.toBe(t.eventId);
    const emitted = { ...fixture('pipeline-failed-processed'), id: 'abc' };
    expect(toTransition(parseCodePipelineEvent(emitted)).eventId).toBe('abc');
  });

  it('gives a processed event without a time the time it was received; its dedupe key does not depend on it', () => {
    const first = parseCodePipelineEvent(fixture('action-failed-processed-no-time'), new Date('2026-03-02T10:00:00Z'));
    const again = parseCodePipelineEvent(fixture('action-failed-processed-no-time'), new Date('2026-03-02T10:05:00Z'));
    expect(toTransition(first)).toMatchObject({
      scope: 'action',
      state: 'FAILED',
      time: '2026-03-02T10:00:00.000Z',
      actionRegion: 'us-west-2',
    });
    expect(toTransition(again).eventId).toBe(toTransition(first).eventId);
  });

  it('records a V2 Git tag trigger: tag, commit, provider, repository and author (numeric account)', () => {
    const t = toTransition(parseCodePipelineEvent(fixture('pipeline-started-v2-git-tag')));
    expect(t.account).toBe('123456789012');
    expect(t.trigger).toEqual({
      provider: 'GitHub',
      repository: 'mmajor/my-repo',
      tag: 'gitTag',
      commitId: 'c2e9b9a7e1f5d3b4a6c8e0f2a4b6c8d0e2f4a6b8',
      commitMessage: 'Update file.txt',
      author: 'Mary Major',
      authorEmail: 'mmajor@example.com',
      authorId: 'mmajor',
      authorDate: '2024-07-11T18:55:12Z',
    });
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
