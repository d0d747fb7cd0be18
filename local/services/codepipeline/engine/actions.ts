import type { EventEntry, LocalContext } from '../../types.ts';
import {
  type ActionDeclaration,
  type ActionRun,
  type ArtifactLocation,
  type ExecutionRecord,
  type JobRecord,
  NS,
  newId,
} from '../model.ts';
import type { ActionResult, EnvironmentOptions, Provider, ProviderContext, Waiting } from '../providers/provider.ts';
import { artifactKey, getArtifact, putArtifact } from './artifacts.ts';
import { actionEvent } from './events.ts';
import { resolveConfiguration } from './variables.ts';

/**
 * What running an action needs of the engine (engine.ts implements it): its clock and environment, the store
 * helpers, events, background work and advancing an execution. Declared here, so the two files do not import each
 * other.
 */
export type ActionHost = {
  readonly context: LocalContext;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly env: EnvironmentOptions;
  readonly providers: Record<string, Provider>;
  /** True while the local cloud shuts down: results arriving now are dropped (the work re-runs on start). */
  readonly closing: boolean;
  execution(id: string): ExecutionRecord | undefined;
  save(exec: ExecutionRecord): void;
  emit(entries: EventEntry[]): void;
  background(work: Promise<unknown>): void;
  appendLog(actionExecutionId: string, line: string): void;
  advance(executionId: string): void;
};

/**
 * One action's life inside an execution: starting it (configuration resolved, STARTED event), running its
 * provider in the background (abortable when the local cloud stops), a job's continuation, and recording the
 * outcome (output artifacts stored, variables and revisions kept, SUCCEEDED/FAILED event) before the engine
 * advances the execution. The engine decides which actions start and when (stages, locks, runOrder).
 */
export class ActionRunner {
  readonly #host: ActionHost;
  readonly #aborts = new Map<string, AbortController>();

  constructor(host: ActionHost) {
    this.#host = host;
  }

  /** Aborts one in-process action (its process is killed), e.g. when its execution is stopped. */
  abort(actionExecutionId: string): void {
    this.#aborts.get(actionExecutionId)?.abort();
  }

  /** Aborts every in-process action (their processes are killed); outcomes arriving afterwards are dropped. */
  abortAll(): void {
    for (const abort of this.#aborts.values()) abort.abort();
  }

  start(exec: ExecutionRecord, stageName: string, decl: ActionDeclaration): void {
    const stageRun = exec.stages[stageName];
    if (!stageRun) return;
    const now = this.#host.now();
    const bucket =
      exec.pipeline.artifactStore?.location ?? Object.values(exec.pipeline.artifactStores ?? {})[0]?.location ?? '';
    const run: ActionRun = {
      actionExecutionId: newId(),
      status: 'InProgress',
      runOrder: decl.runOrder ?? 1,
      startTime: now,
      lastUpdateTime: now,
      resolvedConfiguration: {},
      inputArtifacts: (decl.inputArtifacts ?? []).flatMap((a) => {
        const loc = exec.artifacts[a.name];
        return loc ? [loc] : [];
      }),
      outputArtifacts: (decl.outputArtifacts ?? []).map((a) => ({
        name: a.name,
        s3location: { bucket, key: artifactKey(exec.pipelineName, a.name) },
      })),
    };
    stageRun.actions[decl.name] = run;
    const events = [actionEvent(exec, stageName, decl, run, 'STARTED', this.#host.context.region, now)];
    try {
      run.resolvedConfiguration = resolveConfiguration(decl.configuration ?? {}, exec);
    } catch (err) {
      this.#applyResult(
        exec,
        stageName,
        decl,
        run,
        { status: 'Failed', code: 'JobFailed', message: (err as Error).message },
        events,
      );
    }
    this.#host.emit(events);
  }

  /** A job succeeded with a continuation token: the provider starts the next job (AWS re-invokes with a new job id). */
  continueJob(
    job: JobRecord,
    continuationToken: string,
    details?: { summary?: string; externalExecutionId?: string },
  ): void {
    const exec = this.#host.execution(job.pipelineExecutionId);
    const stage = exec?.pipeline.stages.find((s) => s.name === job.stageName);
    const decl = stage?.actions.find((a) => a.name === job.actionName);
    const run = exec?.stages[job.stageName]?.actions[job.actionName];
    if (!exec || !decl || !run || run.status !== 'InProgress') return;
    if (details?.summary) run.summary = details.summary;
    if (details?.externalExecutionId) run.externalExecutionId = details.externalExecutionId;
    this.#host.save(exec);
    this.run(exec.pipelineExecutionId, job.stageName, decl, run, (provider, pc) =>
      provider.continue
        ? provider.continue(pc, job, continuationToken)
        : Promise.resolve({
            status: 'Failed',
            code: 'JobFailed',
            message: 'This action type does not support continuation tokens',
          }),
    );
  }

  run(
    executionId: string,
    stageName: string,
    decl: ActionDeclaration,
    run: ActionRun,
    runner: (provider: Provider, pc: ProviderContext) => Promise<ActionResult | Waiting> = (provider, pc) =>
      provider.run(pc),
  ): void {
    const key = `${decl.actionTypeId.category}/${decl.actionTypeId.owner}/${decl.actionTypeId.provider}`;
    const provider = this.#host.providers[key];
    const exec = this.#host.execution(executionId);
    if (!exec) return;
    if (!provider) {
      this.complete(executionId, stageName, decl.name, run.actionExecutionId, {
        status: 'Failed',
        code: 'ConfigurationError',
        message: `The local cloud has no provider for action type ${key} (version ${decl.actionTypeId.version})`,
      });
      return;
    }
    const abort = new AbortController();
    this.#aborts.set(run.actionExecutionId, abort);
    const pc: ProviderContext = {
      ctx: actionContext(this.#host.context, decl),
      exec,
      stageName,
      action: decl,
      run,
      env: this.#host.env,
      readInput: async (name) => {
        const loc = name ? run.inputArtifacts.find((a) => a.name === name) : run.inputArtifacts[0];
        if (!loc) throw new Error(`Action ${decl.name} has no input artifact${name ? ` named ${name}` : ''}`);
        return getArtifact(this.#host.context, loc);
      },
      log: (line) => this.#host.appendLog(run.actionExecutionId, line),
      now: this.#host.now,
      sleep: this.#host.sleep,
      signal: abort.signal,
      createJob: (data) => {
        const job: JobRecord = {
          jobId: newId(),
          pipelineExecutionId: executionId,
          stageName,
          actionName: decl.name,
          status: 'InProgress',
          data,
          nonce: newId(),
        };
        this.#host.context.store.put(NS.jobs, job.jobId, job);
        return job;
      },
    };
    this.#host.background(
      runner(provider, pc)
        .catch(
          (err): ActionResult => ({
            status: 'Failed',
            code: 'JobFailed',
            message: (err as Error).message ?? String(err),
          }),
        )
        .then(async (result) => {
          this.#aborts.delete(run.actionExecutionId);
          if (result.status === 'Waiting') {
            this.#patch(executionId, stageName, decl.name, run.actionExecutionId, result.patch);
            return;
          }
          await this.complete(executionId, stageName, decl.name, run.actionExecutionId, result);
        }),
    );
  }

  #patch(
    executionId: string,
    stageName: string,
    actionName: string,
    actionExecutionId: string,
    patch: Partial<ActionRun>,
  ): void {
    const exec = this.#host.execution(executionId);
    const run = exec?.stages[stageName]?.actions[actionName];
    if (!exec || !run || run.actionExecutionId !== actionExecutionId || run.status !== 'InProgress') return;
    Object.assign(run, patch, { lastUpdateTime: this.#host.now() });
    this.#host.save(exec);
  }

  /** Records an action's outcome (from a provider or a job/approval API call) and advances the execution. */
  async complete(
    executionId: string,
    stageName: string,
    actionName: string,
    actionExecutionId: string,
    result: ActionResult,
  ): Promise<boolean> {
    if (this.#host.closing) return false;
    let outputs: ArtifactLocation[] = [];
    if (result.status === 'Succeeded' && result.outputs) {
      const produced = result.outputs;
      const exec = this.#host.execution(executionId);
      const run = exec?.stages[stageName]?.actions[actionName];
      if (!exec || !run) return false;
      try {
        outputs = await Promise.all(
          run.outputArtifacts.map(async (loc) => {
            const bytes = produced[loc.name];
            if (!bytes) throw new Error(`The action produced no output artifact ${loc.name}`);
            return putArtifact(this.#host.context, loc.s3location, loc.name, bytes);
          }),
        );
      } catch (err) {
        result = {
          status: 'Failed',
          code: 'JobFailed',
          message: `Could not store output artifacts: ${(err as Error).message}`,
        };
      }
    }
    if (this.#host.closing) return false;
    const exec = this.#host.execution(executionId);
    const stage = exec?.pipeline.stages.find((s) => s.name === stageName);
    const decl = stage?.actions.find((a) => a.name === actionName);
    const run = exec?.stages[stageName]?.actions[actionName];
    if (!exec || !decl || !run || run.actionExecutionId !== actionExecutionId || run.status !== 'InProgress')
      return false;
    if (outputs.length) run.outputArtifacts = outputs;
    const events: EventEntry[] = [];
    this.#applyResult(exec, stageName, decl, run, result, events);
    this.#host.save(exec);
    this.#host.emit(events);
    this.#host.advance(executionId);
    return true;
  }

  #applyResult(
    exec: ExecutionRecord,
    stageName: string,
    decl: ActionDeclaration,
    run: ActionRun,
    result: ActionResult,
    events: EventEntry[],
  ): void {
    run.lastUpdateTime = this.#host.now();
    run.deadline = undefined;
    run.externalExecutionId = result.externalExecutionId ?? run.externalExecutionId;
    run.externalExecutionUrl = result.externalExecutionUrl ?? run.externalExecutionUrl;
    if (result.status === 'Failed') {
      run.status = 'Failed';
      run.summary = result.message.slice(0, 2048);
      run.errorDetails = { code: result.code, message: result.message.slice(0, 5000) };
      events.push(actionEvent(exec, stageName, decl, run, 'FAILED', this.#host.context.region, this.#host.now()));
      return;
    }
    run.status = 'Succeeded';
    if (result.summary !== undefined) run.summary = result.summary.slice(0, 2048);
    if (result.outputVariables) {
      run.outputVariables = result.outputVariables;
      if (decl.namespace) exec.namespaces[decl.namespace] = result.outputVariables;
    }
    for (const loc of run.outputArtifacts) {
      exec.artifacts[loc.name] = {
        ...loc,
        ...(result.revision
          ? {
              revisionId: result.revision.revisionId,
              revisionSummary: result.revision.revisionSummary,
              ...(result.revision.created ? { revisionCreated: result.revision.created } : {}),
            }
          : {}),
      };
    }
    events.push(actionEvent(exec, stageName, decl, run, 'SUCCEEDED', this.#host.context.region, this.#host.now()));
  }
}

/**
 * Where an action works: an action with its own `region`, or a `roleArn` in another account (cross-account
 * actions: CodePipeline assumes that role), runs in that account and region, so a CloudFormation action's stack
 * lives there. Everything else runs in the pipeline's own account and region.
 */
export const actionContext = (home: LocalContext, decl: ActionDeclaration): LocalContext => {
  const account = /^arn:aws[\w-]*:iam::(\d{12}):role\//.exec(decl.roleArn ?? '')?.[1] ?? home.accountId;
  const region = decl.region ?? home.region;
  if (account === home.accountId && region === home.region) return home;
  return home.partition?.(account, region) ?? home;
};
