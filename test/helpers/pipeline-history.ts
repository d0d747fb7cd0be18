/**
 * Generated pipeline histories for the delivery figures: a ground truth per execution (what happened and when)
 * and the CodePipeline EventBridge events AWS would send for it, shaped like the published samples in `events/`
 * (eventbridge-codepipeline-pipeline-started.json, -stage-started.json, eventbridge-approval-succeeded.json).
 */
import fc from 'fast-check';

export const PIPELINE = 'web-app';
export const STAGES = ['Source', 'Build', 'Approve', 'Deploy'] as const;
export const PRODUCTION_STAGE = 'Deploy';

export type Kind =
  | 'ok'
  | 'build-fail'
  | 'reject'
  | 'deploy-fail'
  | 'superseded'
  | 'retry-ok'
  | 'rollback-ok'
  | 'rollback-fail';

export type Execution = {
  id: string;
  kind: Kind;
  /** Execution start, epoch ms (whole seconds: events carry second precision). */
  start: number;
  /** The V2 trigger's commit time, when the trigger carries one. */
  commitAt?: number;
  /** Milliseconds the approval waited for its decision. */
  wait: number;
  /** Milliseconds between a retried stage's failure and the retry. */
  retryAfter: number;
};

export type Event = { id: string; time: number; body: Record<string, unknown> };

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

const S = 1000;

/** What each execution did, in absolute times. */
export type Truth = {
  execution: Execution;
  /** The production deployment (Deploy succeeded), not for rollbacks. */
  deployedAt?: number;
  end?: number;
  endState: 'SUCCEEDED' | 'FAILED' | 'SUPERSEDED';
  /** A rejected approval's time, or the failed execution's end; a rollback's start. */
  failure?: { at: number; cause: 'failed' | 'rejected' | 'rollback' };
  /** A deployment or a successful rollback's end. */
  restoreAt?: number;
  approval?: { requestedAt: number; decidedAt: number; approved: boolean };
};

export const truthOf = (e: Execution): Truth => {
  const built = e.start + 60 * S;
  const asked = built;
  const decided = asked + e.wait;
  const deployed = decided + 30 * S;
  switch (e.kind) {
    case 'ok':
      return {
        execution: e,
        deployedAt: deployed,
        end: deployed,
        endState: 'SUCCEEDED',
        restoreAt: deployed,
        approval: { requestedAt: asked, decidedAt: decided, approved: true },
      };
    case 'retry-ok': {
      const retried = deployed + e.retryAfter;
      return {
        execution: e,
        deployedAt: retried + 30 * S,
        end: retried + 30 * S,
        endState: 'SUCCEEDED',
        restoreAt: retried + 30 * S,
        approval: { requestedAt: asked, decidedAt: decided, approved: true },
      };
    }
    case 'build-fail':
      return { execution: e, end: built, endState: 'FAILED', failure: { at: built, cause: 'failed' } };
    case 'reject':
      return {
        execution: e,
        end: decided,
        endState: 'FAILED',
        failure: { at: decided, cause: 'rejected' },
        approval: { requestedAt: asked, decidedAt: decided, approved: false },
      };
    case 'deploy-fail':
      return {
        execution: e,
        end: deployed,
        endState: 'FAILED',
        failure: { at: deployed, cause: 'failed' },
        approval: { requestedAt: asked, decidedAt: decided, approved: true },
      };
    case 'superseded':
      return { execution: e, end: built, endState: 'SUPERSEDED' };
    case 'rollback-ok':
      return {
        execution: e,
        end: e.start + 30 * S,
        endState: 'SUCCEEDED',
        failure: { at: e.start, cause: 'rollback' },
        restoreAt: e.start + 30 * S,
      };
    case 'rollback-fail':
      return { execution: e, end: e.start + 30 * S, endState: 'FAILED', failure: { at: e.start, cause: 'rollback' } };
  }
};

const envelope = (id: string, detailType: string, time: number, detail: Record<string, unknown>): Event => {
  return {
    id,
    time,
    body: {
      version: '0',
      id,
      'detail-type': detailType,
      source: 'aws.codepipeline',
      account: '123456789012',
      time: iso(time),
      region: 'us-east-2',
      resources: [`arn:aws:codepipeline:us-east-2:123456789012:${PIPELINE}`],
      detail,
    },
  };
};

/** The events of one execution, in the order CodePipeline would send them. */
export const eventsOf = (e: Execution): Event[] => {
  const base = { pipeline: PIPELINE, 'execution-id': e.id, version: 3 };
  const out: Event[] = [];
  const pipeline = (state: string, time: number, attempt = 1) => {
    const rollback = e.kind.startsWith('rollback');
    const trigger =
      state === 'STARTED'
        ? {
            'execution-trigger': {
              'trigger-type': rollback ? 'ManualRollback' : 'WebhookV2',
              'trigger-detail': rollback ? 'arn:aws:iam::123456789012:user/ops' : 'arn:aws:codeconnections:x',
              ...(e.commitAt !== undefined && !rollback ? { 'author-date': iso(e.commitAt) } : {}),
            },
          }
        : {};
    out.push(
      envelope(`${e.id}/${out.length}`, 'CodePipeline Pipeline Execution State Change', time, {
        ...base,
        state,
        'pipeline-execution-attempt': attempt,
        ...trigger,
      }),
    );
  };
  const stage = (name: string, state: string, time: number) =>
    out.push(
      envelope(`${e.id}/${out.length}`, 'CodePipeline Stage Execution State Change', time, {
        ...base,
        stage: name,
        state,
      }),
    );
  const approval = (state: string, time: number) =>
    out.push(
      envelope(`${e.id}/${out.length}`, 'CodePipeline Action Execution State Change', time, {
        ...base,
        stage: 'Approve',
        action: 'Approve',
        state,
        region: 'us-east-2',
        type: { owner: 'AWS', provider: 'Manual', category: 'Approval', version: '1' },
        'pipeline-execution-attempt': 1,
      }),
    );
  const build = (state: string, time: number) =>
    out.push(
      envelope(`${e.id}/${out.length}`, 'CodePipeline Action Execution State Change', time, {
        ...base,
        stage: 'Build',
        action: 'Build',
        state,
        region: 'us-east-2',
        type: { owner: 'AWS', provider: 'CodeBuild', category: 'Build', version: '1' },
        'pipeline-execution-attempt': 1,
      }),
    );
  const t = truthOf(e);
  pipeline('STARTED', e.start);
  if (e.kind === 'rollback-ok' || e.kind === 'rollback-fail') {
    stage('Deploy', 'STARTED', e.start);
    stage('Deploy', e.kind === 'rollback-ok' ? 'SUCCEEDED' : 'FAILED', t.end as number);
    pipeline(t.endState, t.end as number);
    return out;
  }
  stage('Source', 'STARTED', e.start);
  stage('Source', 'SUCCEEDED', e.start + 10 * S);
  stage('Build', 'STARTED', e.start + 10 * S);
  build('STARTED', e.start + 10 * S);
  const built = e.start + 60 * S;
  if (e.kind === 'build-fail') {
    build('FAILED', built);
    stage('Build', 'FAILED', built);
    pipeline('FAILED', built);
    return out;
  }
  build('SUCCEEDED', built);
  stage('Build', 'SUCCEEDED', built);
  if (e.kind === 'superseded') {
    pipeline('SUPERSEDED', built);
    return out;
  }
  const a = t.approval as NonNullable<Truth['approval']>;
  stage('Approve', 'STARTED', a.requestedAt);
  approval('STARTED', a.requestedAt);
  approval(a.approved ? 'SUCCEEDED' : 'FAILED', a.decidedAt);
  stage('Approve', a.approved ? 'SUCCEEDED' : 'FAILED', a.decidedAt);
  if (!a.approved) {
    pipeline('FAILED', a.decidedAt);
    return out;
  }
  const deployEnd = a.decidedAt + 30 * S;
  stage('Deploy', 'STARTED', a.decidedAt);
  if (e.kind === 'ok') {
    stage('Deploy', 'SUCCEEDED', deployEnd);
    pipeline('SUCCEEDED', deployEnd);
    return out;
  }
  stage('Deploy', 'FAILED', deployEnd);
  pipeline('FAILED', deployEnd);
  if (e.kind === 'retry-ok') {
    const retry = deployEnd + e.retryAfter;
    pipeline('RESUMED', retry, 2);
    stage('Deploy', 'STARTED', retry);
    stage('Deploy', 'SUCCEEDED', t.end as number);
    pipeline('SUCCEEDED', t.end as number, 2);
  }
  return out;
};

export const KINDS: readonly Kind[] = [
  'ok',
  'build-fail',
  'reject',
  'deploy-fail',
  'superseded',
  'retry-ok',
  'rollback-ok',
  'rollback-fail',
];

/** Executions of one pipeline, starting from `base` at random gaps (overlapping runs included). */
export const history = (
  base: number,
  options: { max?: number; kinds?: readonly Kind[]; maxGapMinutes?: number } = {},
) =>
  fc
    .array(
      fc.record({
        kind: fc.constantFrom(...(options.kinds ?? KINDS)),
        gapMinutes: fc.integer({ min: 0, max: options.maxGapMinutes ?? 36 * 60 }),
        commitMinutes: fc.option(fc.integer({ min: 0, max: 3 * 24 * 60 }), { nil: undefined }),
        waitSeconds: fc.integer({ min: 0, max: 3 * 86_400 }),
        retrySeconds: fc.integer({ min: 1, max: 86_400 }),
      }),
      { minLength: 1, maxLength: options.max ?? 30 },
    )
    .map((rows) => {
      let t = base;
      return rows.map((r, i): Execution => {
        t += r.gapMinutes * 60 * S;
        return {
          id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
          kind: r.kind,
          start: t,
          ...(r.commitMinutes !== undefined ? { commitAt: t - r.commitMinutes * 60 * S } : {}),
          wait: r.waitSeconds * S,
          retryAfter: r.retrySeconds * S,
        };
      });
    });
