/** A LocalContext made of MemoryStore and recording fakes, plus helpers to drive the local CodePipeline. */

import { type CodePipelineOptions, createCodePipeline } from '#local/services/codepipeline/index';
import { AwsError, type EventEntry, type LocalContext } from '#local/services/types';
import { MemoryStore, type StateStore } from '#local/store/store';

export type Harness = ReturnType<typeof makeHarness>;
type CallHandler = (input: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>;

export function makeHarness(options: CodePipelineOptions = {}, store: StateStore = new MemoryStore()) {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const events: Array<{ DetailType: string; detail: Record<string, unknown> }> = [];
  const invocations: Array<{ fn: string; payload: unknown; type?: string; delayMs?: number }> = [];
  const calls: Array<{ service: string; operation: string; input: Record<string, unknown> }> = [];
  const objects = new Map<string, Buffer>();
  const handlers: Record<string, CallHandler> = {
    's3.PutObject': (i) => {
      objects.set(`${i.Bucket}/${i.Key}`, Buffer.from(i.Body as Uint8Array));
      return { ETag: '"x"' };
    },
    's3.GetObject': (i) => {
      const body = objects.get(`${i.Bucket}/${i.Key}`);
      if (!body) throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404);
      return { Body: body };
    },
    's3.CreateBucket': () => ({}),
    'sns.Publish': () => ({ MessageId: 'm-1' }),
  };
  let invokeFails: string | undefined;
  const ctx: LocalContext = {
    region: 'us-east-1',
    accountId: '123456789012',
    baseUrl: 'http://127.0.0.1:4566',
    store,
    log: { info() {}, warn() {}, error() {} },
    async putEvents(entries: EventEntry[]) {
      for (const e of entries) events.push({ DetailType: e.DetailType, detail: JSON.parse(e.Detail) });
      return entries.map(() => ({ EventId: 'e' }));
    },
    async invoke(fn, payload, type, options) {
      if (invokeFails) throw new AwsError('ResourceNotFoundException', invokeFails, 404);
      invocations.push({ fn, payload, type, ...(options?.delayMs !== undefined ? { delayMs: options.delayMs } : {}) });
      return {};
    },
    async call(service, operation, input) {
      calls.push({ service, operation, input });
      const handler = handlers[`${service}.${operation}`];
      if (!handler) throw new AwsError('UnknownOperationException', `fake ${service}.${operation} not set`);
      return handler(input);
    },
  };
  const cp = createCodePipeline({ now: () => clock, sleep: async () => {}, tickMs: 0, ...options });
  cp.service.start?.(ctx);
  const op = async <T = Record<string, unknown>>(name: string, input: Record<string, unknown>): Promise<T> => {
    const fn = cp.service.operations[name];
    if (!fn) throw new Error(`no operation ${name}`);
    const out = (await fn(input, ctx)) as T;
    await cp.engine.idle();
    return out;
  };
  return {
    ctx,
    store,
    events,
    invocations,
    calls,
    objects,
    handlers,
    cp,
    op,
    advanceClock: (ms: number) => {
      clock += ms;
    },
    failInvokes: (message: string | undefined) => {
      invokeFails = message;
    },
    async state(name: string) {
      return op<{
        stageStates: Array<{
          stageName: string;
          latestExecution?: { status: string; pipelineExecutionId: string };
          actionStates: Array<{ actionName: string; latestExecution?: Record<string, unknown> }>;
        }>;
      }>('GetPipelineState', { name });
    },
    async execution(pipelineName: string, pipelineExecutionId: string) {
      const out = await op<{ pipelineExecution: { status: string; statusSummary?: string; variables: unknown[] } }>(
        'GetPipelineExecution',
        { pipelineName, pipelineExecutionId },
      );
      return out.pipelineExecution;
    },
    async latestExecutionId(pipelineName: string): Promise<string> {
      const out = await op<{ pipelineExecutionSummaries: Array<{ pipelineExecutionId: string }> }>(
        'ListPipelineExecutions',
        { pipelineName },
      );
      const first = out.pipelineExecutionSummaries[0];
      if (!first) throw new Error('no executions');
      return first.pipelineExecutionId;
    },
    /** The CodePipeline.job of the n-th recorded invocation. */
    job(n: number): { id: string; accountId: string; data: Record<string, Loose> } {
      const inv = invocations[n];
      if (!inv) throw new Error(`no invocation #${n}`);
      return (inv.payload as { 'CodePipeline.job': { id: string; accountId: string; data: Record<string, Loose> } })[
        'CodePipeline.job'
      ];
    },
    jobOf(payload: unknown): { id: string; data: Record<string, Loose> } {
      return (payload as { 'CodePipeline.job': { id: string; data: Record<string, Loose> } })['CodePipeline.job'];
    },
    eventStates: (detailType: string) =>
      events
        .filter((e) => e.DetailType === detailType)
        .map((e) => [e.detail.stage, e.detail.action, e.detail.state].filter(Boolean).join(':')),
  };
}

export const approvalAction = (
  name: string,
  configuration: Record<string, string> = {},
  extra: Record<string, unknown> = {},
) => ({
  name,
  actionTypeId: { category: 'Approval', owner: 'AWS', provider: 'Manual', version: '1' },
  configuration,
  runOrder: 1,
  ...extra,
});

export const lambdaAction = (name: string, functionName: string, extra: Record<string, unknown> = {}) => ({
  name,
  actionTypeId: { category: 'Invoke', owner: 'AWS', provider: 'Lambda', version: '1' },
  configuration: { FunctionName: functionName },
  ...extra,
});

/** A pipeline whose first stage is an approval standing in for a source (tests never use real sources here). */
export const pipeline = (
  name: string,
  stages: Array<{ name: string; actions: unknown[] }>,
  extra: Record<string, unknown> = {},
) => ({
  name,
  roleArn: 'arn:aws:iam::123456789012:role/pipeline-role',
  artifactStore: { type: 'S3', location: 'artifact-bucket' },
  pipelineType: 'V2',
  stages,
  ...extra,
});

import { zipSync } from 'fflate';
import { defaultProviders } from '#local/services/codepipeline/index';
import type { Provider } from '#local/services/codepipeline/providers/provider';

/** A Source provider standing in for a repository: outputs a zip with one file and a fixed revision. */
export const fakeSource: Provider = {
  async run(p) {
    const out = p.run.outputArtifacts[0]?.name ?? 'SourceOutput';
    return {
      status: 'Succeeded',
      summary: 'fake commit',
      externalExecutionId: 'abc123',
      outputVariables: { CommitId: 'abc123', BranchName: 'main' },
      outputs: { [out]: zipSync({ 'README.md': new TextEncoder().encode('hello') }) },
      revision: { revisionId: 'abc123', revisionSummary: 'fake commit' },
    };
  },
};

export const testProviders = (): Record<string, Provider> => ({ ...defaultProviders(), 'Source/AWS/S3': fakeSource });

export const sourceStage = (namespace = 'SourceVariables') => ({
  name: 'Source',
  actions: [
    {
      name: 'Source',
      actionTypeId: { category: 'Source', owner: 'AWS', provider: 'S3', version: '1' },
      configuration: { S3Bucket: 'src', S3ObjectKey: 'app.zip' },
      outputArtifacts: [{ name: 'SourceOutput' }],
      namespace,
    },
  ],
});

// biome-ignore lint/suspicious/noExplicitAny: tests dig into loosely typed AWS payloads.
export type Loose = any;
