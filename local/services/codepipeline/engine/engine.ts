/**
 * The execution engine. All state lives in the store and every transition is a synchronous read-modify-write
 * (the store is synchronous), so concurrent provider completions never interleave inside a transition.
 * Providers run in the background; `advance()` is idempotent and is called after every change, on timers and
 * on start-up, which is what makes in-flight executions resume after a restart.
 *
 * Stage locking (SUPERSEDED and QUEUED): a stage holds at most one execution. An execution that wants to enter
 * an occupied stage (or one whose inbound transition is disabled) waits; in SUPERSEDED mode a newer waiting
 * execution supersedes an older one waiting for the same stage; in QUEUED mode waiters enter in start order.
 * PARALLEL executions never wait for each other.
 */
import type { EventEntry, LocalContext } from '../../types.ts';
import {
  type ActionDeclaration,
  type ActionRun,
  type ExecutionRecord,
  type JobRecord,
  NS,
  type PipelineRecord,
  TERMINAL,
} from '../model.ts';
import type { ActionResult, EnvironmentOptions, Provider } from '../providers/provider.ts';
import { ActionRunner } from './actions.ts';
import { actionEvent, pipelineEvent, stageEvent } from './events.ts';

export type EngineOptions = {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  env: EnvironmentOptions;
  providers: Record<string, Provider>;
};

const LOG_LIMIT = 200_000;

export class Engine {
  ctx: LocalContext | undefined;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly env: EnvironmentOptions;
  readonly providers: Record<string, Provider>;
  readonly #tasks = new Set<Promise<unknown>>();
  readonly actions: ActionRunner = new ActionRunner(this);
  #seq = 0;
  /** Set while the local cloud shuts down: in-flight provider results are dropped, so the work re-runs on start. */
  #closing = false;

  constructor(options: EngineOptions) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.env = options.env;
    this.providers = options.providers;
  }

  /** Binds to a (re)started local cloud. */
  open(ctx: LocalContext): void {
    this.ctx = ctx;
    this.#closing = false;
  }

  /**
   * Stops in-process actions (killing their processes) without recording an outcome, so `resume()` runs them
   * again after the next start; waits briefly for background work to settle.
   */
  async close(graceMs = 2000): Promise<void> {
    this.#closing = true;
    this.actions.abortAll();
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, graceMs).unref())]);
    this.ctx = undefined;
  }

  /** True while the local cloud shuts down: provider results arriving now are dropped and re-run on start. */
  get closing(): boolean {
    return this.#closing;
  }

  bind(ctx: LocalContext): LocalContext {
    this.ctx ??= ctx;
    return this.ctx;
  }

  get context(): LocalContext {
    if (!this.ctx) throw new Error('The CodePipeline engine is not bound to a local context yet');
    return this.ctx;
  }

  /** Resolves when no background work (provider runs, event puts) is pending. */
  async idle(): Promise<void> {
    while (this.#tasks.size) await Promise.allSettled([...this.#tasks]);
  }

  background(work: Promise<unknown>): void {
    const task = work.catch((err) =>
      this.ctx?.log.error('codepipeline background task failed', { error: String(err) }),
    );
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }

  emit(entries: EventEntry[]): void {
    if (!entries.length) return;
    this.background(this.context.putEvents(entries));
  }

  // ---- store helpers -------------------------------------------------------------------------------------

  pipeline(name: string): PipelineRecord | undefined {
    return this.context.store.get<PipelineRecord>(NS.pipelines, name);
  }
  execution(id: string): ExecutionRecord | undefined {
    return this.context.store.get<ExecutionRecord>(NS.executions, id);
  }
  save(exec: ExecutionRecord): void {
    exec.lastUpdateTime = this.now();
    this.context.store.put(NS.executions, exec.pipelineExecutionId, exec);
  }
  executionsOf(pipelineName: string): ExecutionRecord[] {
    return this.context.store
      .list<ExecutionRecord>(NS.executions)
      .map(([, e]) => e)
      .filter((e) => e.pipelineName === pipelineName)
      .sort((a, b) => a.seq - b.seq);
  }
  nextSeq(): number {
    const max = this.context.store.list<ExecutionRecord>(NS.executions).reduce((m, [, e]) => Math.max(m, e.seq), 0);
    this.#seq = Math.max(this.#seq, max) + 1;
    return this.#seq;
  }

  appendLog(actionExecutionId: string, line: string): void {
    const prev = this.context.store.get<string>(NS.logs, actionExecutionId) ?? '';
    const next = `${prev}${line.endsWith('\n') ? line : `${line}\n`}`;
    this.context.store.put(NS.logs, actionExecutionId, next.length > LOG_LIMIT ? next.slice(-LOG_LIMIT) : next);
  }

  // ---- starting and advancing ----------------------------------------------------------------------------

  /** Registers a new execution (already validated) and lets it run. */
  launch(exec: ExecutionRecord): void {
    this.save(exec);
    this.emit([pipelineEvent(exec, 'STARTED', this.now())]);
    this.advance(exec.pipelineExecutionId);
  }

  /** Moves an execution forward as far as it can go right now. Safe to call at any time. */
  advance(executionId: string): void {
    const exec = this.execution(executionId);
    if (!exec || TERMINAL.has(exec.status)) return;
    const stages = exec.pipeline.stages;

    if (exec.stop) {
      this.#settleStop(exec);
      return;
    }
    if (exec.stageIndex < 0 || exec.waitingFor !== undefined) {
      this.#tryEnter(exec, exec.waitingFor ?? 0);
      return;
    }
    const stage = stages[exec.stageIndex];
    const stageRun = stage ? exec.stages[stage.name] : undefined;
    if (!stage || !stageRun || stageRun.status !== 'InProgress') return;

    const runs = stage.actions.map((a) => ({ decl: a, run: stageRun.actions[a.name] }));
    const inProgress = runs.some((r) => r.run?.status === 'InProgress');
    const failed = runs.filter((r) => r.run?.status === 'Failed');
    if (failed.length) {
      if (inProgress) return; // parallel actions of the same runOrder finish first
      stageRun.status = 'Failed';
      exec.status = 'Failed';
      const first = failed[0];
      exec.statusSummary = first?.run?.errorDetails?.message;
      this.save(exec);
      this.emit([stageEvent(exec, stage.name, 'FAILED', this.now()), pipelineEvent(exec, 'FAILED', this.now())]);
      this.wake(exec.pipelineName);
      return;
    }
    const pending = runs.filter((r) => r.run?.status !== 'Succeeded');
    if (!pending.length) {
      stageRun.status = 'Succeeded';
      this.save(exec);
      this.emit([stageEvent(exec, stage.name, 'SUCCEEDED', this.now())]);
      if (exec.stageIndex + 1 >= stages.length) {
        exec.status = 'Succeeded';
        this.save(exec);
        this.emit([pipelineEvent(exec, 'SUCCEEDED', this.now())]);
      } else {
        this.#tryEnter(exec, exec.stageIndex + 1);
      }
      this.wake(exec.pipelineName);
      return;
    }
    if (inProgress) return;
    const order = Math.min(...pending.map((r) => r.decl.runOrder ?? 1));
    const batch = pending.filter((r) => (r.decl.runOrder ?? 1) === order && !r.run);
    for (const { decl } of batch) this.actions.start(exec, stage.name, decl);
    this.save(exec);
    for (const { decl } of batch) {
      const run = exec.stages[stage.name]?.actions[decl.name];
      if (run?.status === 'InProgress') this.actions.run(exec.pipelineExecutionId, stage.name, decl, run);
    }
    if (batch.some(({ decl }) => exec.stages[stage.name]?.actions[decl.name]?.status === 'Failed'))
      this.advance(executionId);
  }

  /** Re-evaluates every live execution of a pipeline (after a stage frees up or a transition opens). */
  wake(pipelineName: string): void {
    for (const e of this.executionsOf(pipelineName)) {
      if (!TERMINAL.has(e.status) && e.waitingFor !== undefined) this.advance(e.pipelineExecutionId);
    }
  }

  #occupant(exec: ExecutionRecord, index: number): ExecutionRecord | undefined {
    if (exec.executionMode === 'PARALLEL') return undefined;
    return this.executionsOf(exec.pipelineName).find(
      (e) =>
        e.pipelineExecutionId !== exec.pipelineExecutionId &&
        !TERMINAL.has(e.status) &&
        e.waitingFor === undefined &&
        e.stageIndex === index &&
        ['InProgress', 'Stopping'].includes(e.stages[e.pipeline.stages[index]?.name ?? '']?.status ?? ''),
    );
  }

  #tryEnter(exec: ExecutionRecord, index: number): void {
    const stage = exec.pipeline.stages[index];
    if (!stage) return;
    const record = this.pipeline(exec.pipelineName);
    const transitionClosed = index > 0 && record?.transitions[stage.name]?.enabled === false;
    const blocked = transitionClosed || this.#occupant(exec, index) !== undefined;
    const waiters = this.executionsOf(exec.pipelineName).filter(
      (e) => e.pipelineExecutionId !== exec.pipelineExecutionId && !TERMINAL.has(e.status) && e.waitingFor === index,
    );
    if (exec.executionMode === 'SUPERSEDED') {
      // A newer execution waiting for the same stage wins; older waiters are superseded.
      const newer = waiters.some((e) => e.seq > exec.seq);
      if (newer) {
        this.#finish(
          exec,
          'Superseded',
          'SUPERSEDED',
          `Superseded by a newer execution waiting for stage ${stage.name}`,
        );
        return;
      }
      for (const older of waiters)
        this.#finish(older, 'Superseded', 'SUPERSEDED', `Superseded by execution ${exec.pipelineExecutionId}`);
    }
    const queuedAhead = exec.executionMode === 'QUEUED' && waiters.some((e) => e.seq < exec.seq);
    if (blocked || queuedAhead) {
      if (exec.waitingFor !== index) {
        exec.waitingFor = index;
        this.save(exec);
      }
      return;
    }
    exec.waitingFor = undefined;
    exec.stageIndex = index;
    const attempt = (exec.stages[stage.name]?.attempt ?? 0) + 1;
    exec.stages[stage.name] = { status: 'InProgress', attempt, actions: {} };
    this.save(exec);
    this.emit([stageEvent(exec, stage.name, 'STARTED', this.now())]);
    this.advance(exec.pipelineExecutionId);
  }

  #finish(
    exec: ExecutionRecord,
    status: 'Superseded' | 'Stopped' | 'Cancelled',
    event: 'SUPERSEDED' | 'STOPPED' | 'CANCELED',
    summary: string,
  ): void {
    exec.status = status;
    exec.statusSummary = summary;
    exec.waitingFor = undefined;
    this.save(exec);
    this.emit([pipelineEvent(exec, event, this.now())]);
  }

  #settleStop(exec: ExecutionRecord): void {
    const stage = exec.pipeline.stages[exec.stageIndex];
    const stageRun = stage && exec.waitingFor === undefined ? exec.stages[stage.name] : undefined;
    const events: EventEntry[] = [];
    if (stage && stageRun && (stageRun.status === 'InProgress' || stageRun.status === 'Stopping')) {
      for (const decl of stage.actions) {
        const run = stageRun.actions[decl.name];
        if (run?.status === 'InProgress' && exec.stop?.abandon) {
          this.#abandon(exec, stage.name, decl, run, events);
        }
      }
      if (Object.values(stageRun.actions).some((r) => r.status === 'InProgress')) {
        this.save(exec);
        this.emit(events);
        return; // stop (not abandon): in-progress actions finish first
      }
      stageRun.status = 'Stopped';
      events.push(stageEvent(exec, stage.name, 'STOPPED', this.now()));
    }
    exec.status = 'Stopped';
    exec.statusSummary = exec.stop?.reason;
    exec.waitingFor = undefined;
    this.save(exec);
    events.push(pipelineEvent(exec, 'STOPPED', this.now()));
    this.emit(events);
    this.wake(exec.pipelineName);
  }

  #abandon(
    exec: ExecutionRecord,
    stageName: string,
    decl: ActionDeclaration,
    run: ActionRun,
    events: EventEntry[],
  ): void {
    run.status = 'Abandoned';
    run.lastUpdateTime = this.now();
    run.summary = 'The action was abandoned because the pipeline execution was stopped';
    this.actions.abort(run.actionExecutionId);
    this.#closeJob(run);
    events.push(actionEvent(exec, stageName, decl, run, 'ABANDONED', this.context.region, this.now()));
  }

  #closeJob(run: ActionRun): void {
    if (!run.jobId) return;
    const job = this.context.store.get<JobRecord>(NS.jobs, run.jobId);
    if (job && job.status === 'InProgress')
      this.context.store.put(NS.jobs, run.jobId, { ...job, status: 'Superseded' });
  }

  /** Stops every live execution of a pipeline (DeletePipeline), abandoning its actions. */
  abandonAll(pipelineName: string): void {
    for (const e of this.executionsOf(pipelineName)) {
      if (TERMINAL.has(e.status)) continue;
      e.stop = { abandon: true, reason: 'The pipeline was deleted' };
      this.save(e);
      this.#settleStop(e);
    }
  }

  // ---- actions (engine/actions.ts) -----------------------------------------------------------------------

  /** A job succeeded with a continuation token: the provider starts the next job (AWS re-invokes with a new job id). */
  continueJob(
    job: JobRecord,
    continuationToken: string,
    details?: { summary?: string; externalExecutionId?: string },
  ): void {
    this.actions.continueJob(job, continuationToken, details);
  }

  /** Records an action's outcome (from a provider or a job/approval API call) and advances the execution. */
  complete(
    executionId: string,
    stageName: string,
    actionName: string,
    actionExecutionId: string,
    result: ActionResult,
  ): Promise<boolean> {
    return this.actions.complete(executionId, stageName, actionName, actionExecutionId, result);
  }

  // ---- timers and restart --------------------------------------------------------------------------------

  /** Fails actions past their deadline (approval and job timeouts). Called periodically and by tests. */
  async checkDeadlines(): Promise<void> {
    const now = this.now();
    for (const [, exec] of this.context.store.list<ExecutionRecord>(NS.executions)) {
      if (TERMINAL.has(exec.status)) continue;
      for (const [stageName, stageRun] of Object.entries(exec.stages)) {
        for (const [actionName, run] of Object.entries(stageRun.actions)) {
          if (run.status !== 'InProgress' || run.deadline === undefined || run.deadline > now) continue;
          this.#closeJob(run);
          const approval = run.token !== undefined;
          await this.complete(exec.pipelineExecutionId, stageName, actionName, run.actionExecutionId, {
            status: 'Failed',
            code: approval ? 'ApprovalTimedOut' : 'JobTimedOut',
            message: approval
              ? 'The approval request expired before it received a response'
              : 'The job did not return a result in time',
          });
        }
      }
    }
  }

  /** After a restart: re-runs in-process actions that were cut off, keeps waiting ones, advances everything. */
  resume(): void {
    for (const [, exec] of this.context.store.list<ExecutionRecord>(NS.executions)) {
      if (TERMINAL.has(exec.status)) continue;
      const stage = exec.pipeline.stages[exec.stageIndex];
      const stageRun = stage ? exec.stages[stage.name] : undefined;
      if (stage && stageRun && exec.waitingFor === undefined && !exec.stop) {
        for (const decl of stage.actions) {
          const run = stageRun.actions[decl.name];
          if (run?.status !== 'InProgress' || run.token !== undefined || run.jobId !== undefined) continue;
          this.appendLog(
            run.actionExecutionId,
            '[local] the local cloud restarted while this action ran; running it again',
          );
          this.actions.run(exec.pipelineExecutionId, stage.name, decl, run);
        }
      }
      this.advance(exec.pipelineExecutionId);
    }
  }
}
