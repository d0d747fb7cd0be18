import { randomUUID } from 'node:crypto';
import type { Template } from '../../runtime/template.ts';
import type { LocalContext } from '../types.ts';
import { type ApplyHost, applyDefinition } from './apply.ts';
import {
  type Definition,
  EVENTS,
  type Operation,
  parse,
  type ResourceRecord,
  STACKS,
  type StackRecord,
} from './model.ts';
import { deleteResource } from './resources.ts';

/**
 * The stack lifecycle. Each operation moves through AWS's statuses in steps `delayMs` apart (env
 * STAGECREW_CFN_DELAY_MS). The next step's due time is persisted with the stack, so after a restart `start()`
 * re-arms the timers and the stack carries on where it was. Every status change is recorded as a stack event
 * and published as a `CloudFormation Stack Status Change` (or `Resource Status Change`) EventBridge event.
 */
/** `delayMs` is read at every step, so a changed STAGECREW_CFN_DELAY_MS applies without a new instance. */
export type EngineOptions = { delayMs: () => number; now: () => number };

export type StackEvent = {
  StackId: string;
  EventId: string;
  StackName: string;
  LogicalResourceId: string;
  PhysicalResourceId: string;
  ResourceType: string;
  Timestamp: string;
  ResourceStatus: string;
  ResourceStatusReason?: string;
  ClientRequestToken?: string;
};

const LIVE = (s: StackRecord) => s.status !== 'DELETE_COMPLETE';

export class StackEngine implements ApplyHost {
  readonly #options: EngineOptions;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #locks = new Map<string, Promise<unknown>>();
  #stopped = false;

  constructor(options: EngineOptions) {
    this.#options = options;
  }

  get delayMs() {
    return this.#options.delayMs();
  }
  now(): string {
    return new Date(this.#options.now()).toISOString();
  }

  /** Serializes everything that mutates one stack (API calls and timer steps). */
  withLock<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const settled = run.catch(() => {});
    this.#locks.set(key, settled);
    void settled.then(() => {
      if (this.#locks.get(key) === settled) this.#locks.delete(key);
    });
    return run;
  }

  all(ctx: LocalContext): StackRecord[] {
    return ctx.store.list<StackRecord>(STACKS).map(([, s]) => s);
  }
  live(ctx: LocalContext): StackRecord[] {
    return this.all(ctx).filter(LIVE);
  }
  /** By stack id: any stack (deleted ones too). By name: only a stack that is not deleted. */
  find(ctx: LocalContext, nameOrId: string): StackRecord | undefined {
    if (nameOrId.startsWith('arn:')) return ctx.store.get<StackRecord>(STACKS, nameOrId);
    return this.live(ctx).find((s) => s.stackName === nameOrId);
  }
  save(ctx: LocalContext, stack: StackRecord): void {
    ctx.store.put(STACKS, stack.stackId, stack);
  }
  events(ctx: LocalContext, stackId: string): StackEvent[] {
    return ctx.store.get<StackEvent[]>(EVENTS, stackId) ?? [];
  }

  exports(ctx: LocalContext): Array<{ name: string; value: string; stack: StackRecord }> {
    return this.live(ctx).flatMap((stack) =>
      stack.outputs
        .filter((o) => o.ExportName)
        .map((o) => ({ name: o.ExportName as string, value: o.OutputValue, stack })),
    );
  }
  importers(ctx: LocalContext, exportName: string, except?: string): string[] {
    return this.live(ctx)
      .filter((s) => s.stackId !== except && s.imports.includes(exportName))
      .map((s) => s.stackName);
  }

  async #publish(
    ctx: LocalContext,
    detailType: string,
    stackId: string,
    detail: Record<string, unknown>,
  ): Promise<void> {
    try {
      await ctx.putEvents([
        { Source: 'aws.cloudformation', DetailType: detailType, Resources: [stackId], Detail: JSON.stringify(detail) },
      ]);
    } catch (err) {
      ctx.log.warn('cloudformation event not published', { error: String(err) });
    }
  }

  #record(ctx: LocalContext, event: StackEvent): void {
    const events = this.events(ctx, event.StackId);
    events.unshift(event);
    ctx.store.put(EVENTS, event.StackId, events);
  }

  async setStatus(ctx: LocalContext, stack: StackRecord, status: string, reason?: string): Promise<void> {
    stack.status = status;
    if (reason === undefined) delete stack.reason;
    else stack.reason = reason;
    const token = stack.op?.token;
    this.save(ctx, stack);
    this.#record(ctx, {
      StackId: stack.stackId,
      EventId: randomUUID(),
      StackName: stack.stackName,
      LogicalResourceId: stack.stackName,
      PhysicalResourceId: stack.stackId,
      ResourceType: 'AWS::CloudFormation::Stack',
      Timestamp: this.now(),
      ResourceStatus: status,
      ...(reason ? { ResourceStatusReason: reason } : {}),
      ...(token ? { ClientRequestToken: token } : {}),
    });
    await this.#publish(ctx, 'CloudFormation Stack Status Change', stack.stackId, {
      'stack-id': stack.stackId,
      'status-details': { status, 'status-reason': reason ?? '' },
      ...(token ? { 'client-request-token': token } : {}),
    });
  }

  async resourceStatus(
    ctx: LocalContext,
    stack: StackRecord,
    id: string,
    r: ResourceRecord,
    status: string,
    reason?: string,
  ) {
    r.status = status;
    r.timestamp = this.now();
    if (reason === undefined) delete r.reason;
    else r.reason = reason;
    stack.resources[id] = r;
    this.save(ctx, stack);
    const token = stack.op?.token;
    const timestamp = r.timestamp;
    this.#record(ctx, {
      StackId: stack.stackId,
      EventId: `${id}-${status}-${timestamp}`,
      StackName: stack.stackName,
      LogicalResourceId: id,
      PhysicalResourceId: r.physicalId ?? '',
      ResourceType: r.type,
      Timestamp: timestamp,
      ResourceStatus: status,
      ...(reason ? { ResourceStatusReason: reason } : {}),
      ...(token ? { ClientRequestToken: token } : {}),
    });
    await this.#publish(ctx, 'CloudFormation Resource Status Change', stack.stackId, {
      'stack-id': stack.stackId,
      'logical-resource-id': id,
      'physical-resource-id': r.physicalId ?? '',
      'status-details': { status, 'status-reason': reason ?? '' },
      'resource-type': r.type,
      ...(token ? { 'client-request-token': token } : {}),
    });
  }

  /** Starts an operation: the stack gets `status` now, and `kind` runs one step later. */
  async begin(
    ctx: LocalContext,
    stack: StackRecord,
    kind: Operation['kind'],
    status: string,
    reason: string | undefined,
    token?: string,
  ) {
    stack.op = { kind, dueAt: this.#options.now() + this.#options.delayMs(), ...(token ? { token } : {}) };
    await this.setStatus(ctx, stack, status, reason);
    this.schedule(ctx, stack);
  }

  schedule(ctx: LocalContext, stack: StackRecord): void {
    if (!stack.op || this.#stopped) return;
    clearTimeout(this.#timers.get(stack.stackId));
    const wait = Math.max(0, stack.op.dueAt - this.#options.now());
    const timer = setTimeout(() => {
      this.#timers.delete(stack.stackId);
      void this.withLock(stack.stackId, () => this.#step(ctx, stack.stackId)).catch((err) =>
        ctx.log.error('cloudformation step failed', { stackId: stack.stackId, error: String(err) }),
      );
    }, wait);
    timer.unref?.();
    this.#timers.set(stack.stackId, timer);
  }

  /** Re-arms every persisted step after a restart. */
  resume(ctx: LocalContext): void {
    this.#stopped = false;
    for (const stack of this.all(ctx)) if (stack.op) this.schedule(ctx, stack);
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  #continue(ctx: LocalContext, stack: StackRecord, kind: Operation['kind']) {
    stack.op = {
      kind,
      dueAt: this.#options.now() + this.#options.delayMs(),
      ...(stack.op?.token ? { token: stack.op.token } : {}),
    };
    this.save(ctx, stack);
  }

  async #finish(ctx: LocalContext, stack: StackRecord, status: string, reason?: string) {
    await this.setStatus(ctx, stack, status, reason);
    delete stack.op;
    this.save(ctx, stack);
    // A DeleteStack that arrived while another operation ran starts now.
    if (stack.deleteRequest && status !== 'DELETE_COMPLETE' && !status.startsWith('DELETE')) {
      const request = stack.deleteRequest;
      delete stack.deleteRequest;
      stack.statusBeforeDelete = status;
      await this.begin(ctx, stack, 'delete', 'DELETE_IN_PROGRESS', 'User Initiated', request.token);
    }
  }

  async #step(ctx: LocalContext, stackId: string): Promise<void> {
    if (this.#stopped) return;
    const stack = ctx.store.get<StackRecord>(STACKS, stackId);
    if (!stack?.op) return;
    if (stack.op.dueAt > this.#options.now() + 5) {
      this.schedule(ctx, stack);
      return;
    }
    switch (stack.op.kind) {
      case 'create':
        return this.#create(ctx, stack);
      case 'rollback':
        return this.#rollback(ctx, stack);
      case 'update':
        return this.#update(ctx, stack);
      case 'update-cleanup':
        return this.#cleanup(ctx, stack);
      case 'update-rollback':
        return this.#updateRollback(ctx, stack);
      case 'delete':
        return this.#delete(ctx, stack);
    }
  }

  async #create(ctx: LocalContext, stack: StackRecord) {
    try {
      const result = await applyDefinition(this, ctx, stack, stack);
      stack.outputs = result.outputs;
      stack.imports = result.imports;
      await this.#finish(ctx, stack, 'CREATE_COMPLETE');
    } catch (failure) {
      const [id, message] = Array.isArray(failure) ? (failure as [string, string]) : [stack.stackName, String(failure)];
      const what = id === stack.stackName ? message : `The following resource(s) failed to create: [${id}]. `;
      if (stack.onFailure === 'DO_NOTHING' || stack.disableRollback) {
        await this.#finish(ctx, stack, 'CREATE_FAILED', what);
      } else if (stack.onFailure === 'DELETE') {
        stack.statusBeforeDelete = 'CREATE_FAILED';
        await this.setStatus(ctx, stack, 'CREATE_FAILED', what);
        await this.begin(ctx, stack, 'delete', 'DELETE_IN_PROGRESS', undefined, stack.op?.token);
      } else {
        await this.setStatus(
          ctx,
          stack,
          'ROLLBACK_IN_PROGRESS',
          `${what}${id === stack.stackName ? '' : 'Rollback requested by user.'}`,
        );
        this.#continue(ctx, stack, 'rollback');
        this.schedule(ctx, stack);
      }
    }
  }

  async #deleteResources(ctx: LocalContext, stack: StackRecord, retain: string[]): Promise<string[]> {
    const failed: string[] = [];
    const ids = [...stack.order]
      .reverse()
      .concat(Object.keys(stack.resources).filter((id) => !stack.order.includes(id)));
    const template = safeParse(stack.templateBody);
    for (const id of ids) {
      const r = stack.resources[id];
      if (!r || ['DELETE_COMPLETE', 'DELETE_SKIPPED'].includes(r.status)) continue;
      const policy = template?.Resources[id]?.DeletionPolicy;
      if (!r.physicalId || r.status === 'CREATE_FAILED') {
        await this.resourceStatus(ctx, stack, id, r, 'DELETE_COMPLETE');
        continue;
      }
      if (retain.includes(id) || policy === 'Retain' || policy === 'RetainExceptOnCreate') {
        await this.resourceStatus(ctx, stack, id, r, 'DELETE_SKIPPED');
        continue;
      }
      await this.resourceStatus(ctx, stack, id, r, 'DELETE_IN_PROGRESS');
      try {
        await deleteResource(r.type, r.physicalId, ctx);
        await this.resourceStatus(ctx, stack, id, r, 'DELETE_COMPLETE');
      } catch (err) {
        await this.resourceStatus(ctx, stack, id, r, 'DELETE_FAILED', (err as Error).message);
        failed.push(id);
      }
    }
    return failed;
  }

  async #rollback(ctx: LocalContext, stack: StackRecord) {
    const failed = await this.#deleteResources(ctx, stack, []);
    stack.outputs = [];
    stack.imports = [];
    if (failed.length > 0)
      await this.#finish(
        ctx,
        stack,
        'ROLLBACK_FAILED',
        `The following resource(s) failed to delete: [${failed.join(', ')}]. `,
      );
    else await this.#finish(ctx, stack, 'ROLLBACK_COMPLETE');
  }

  async #update(ctx: LocalContext, stack: StackRecord) {
    const next = stack.next as Definition;
    try {
      const result = await applyDefinition(this, ctx, stack, next);
      Object.assign(stack, next, { outputs: result.outputs, imports: result.imports, cleanup: result.cleanup });
      if (result.description !== undefined) stack.description = result.description;
      delete stack.next;
      await this.setStatus(ctx, stack, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
      this.#continue(ctx, stack, 'update-cleanup');
      this.schedule(ctx, stack);
    } catch (failure) {
      const [id, message] = Array.isArray(failure) ? (failure as [string, string]) : [stack.stackName, String(failure)];
      const reason = id === stack.stackName ? message : `The following resource(s) failed to update: [${id}]. `;
      await this.setStatus(ctx, stack, 'UPDATE_ROLLBACK_IN_PROGRESS', reason);
      this.#continue(ctx, stack, 'update-rollback');
      this.schedule(ctx, stack);
    }
  }

  async #cleanup(ctx: LocalContext, stack: StackRecord) {
    for (const item of stack.cleanup ?? []) {
      const current = stack.resources[item.logicalId];
      const record: ResourceRecord = {
        type: item.type,
        physicalId: item.physicalId,
        status: 'DELETE_IN_PROGRESS',
        timestamp: this.now(),
      };
      const event = async (status: string, reason?: string) => {
        // Cleanup events describe the old physical resource; the logical id may now hold its replacement.
        await this.resourceStatus(ctx, stack, item.logicalId, record, status, reason);
        if (current && current.physicalId !== item.physicalId) stack.resources[item.logicalId] = current;
        else if (status === 'DELETE_COMPLETE') delete stack.resources[item.logicalId];
        this.save(ctx, stack);
      };
      await event('DELETE_IN_PROGRESS');
      try {
        await deleteResource(item.type, item.physicalId, ctx);
        await event('DELETE_COMPLETE');
      } catch (err) {
        // As on AWS, a cleanup failure leaves the resource behind but does not fail the update.
        await event('DELETE_FAILED', (err as Error).message);
      }
    }
    stack.order = stack.order.filter((id) => stack.resources[id]);
    delete stack.cleanup;
    delete stack.previous;
    stack.lastUpdatedTime = this.now();
    await this.#finish(ctx, stack, 'UPDATE_COMPLETE');
  }

  async #updateRollback(ctx: LocalContext, stack: StackRecord) {
    const previous = stack.previous;
    // Resources created by the failed update go; the previous set of resources is restored.
    for (const [id, r] of Object.entries(stack.resources)) {
      const before = previous?.resources[id];
      if (r.physicalId && before?.physicalId !== r.physicalId && r.status !== 'DELETE_COMPLETE') {
        try {
          await deleteResource(r.type, r.physicalId, ctx);
        } catch (err) {
          ctx.log.warn('rollback could not delete a resource', { id, error: String(err) });
        }
      }
    }
    if (previous) {
      stack.resources = previous.resources;
      stack.order = previous.order;
      stack.outputs = previous.outputs;
      stack.imports = previous.imports;
    }
    delete stack.next;
    delete stack.previous;
    delete stack.cleanup;
    stack.lastUpdatedTime = this.now();
    await this.setStatus(ctx, stack, 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
    await this.#finish(ctx, stack, 'UPDATE_ROLLBACK_COMPLETE');
  }

  async #delete(ctx: LocalContext, stack: StackRecord) {
    // An export another stack imports blocks the delete: the stack goes back to the status it had.
    for (const o of stack.outputs) {
      if (!o.ExportName) continue;
      const users = this.importers(ctx, o.ExportName, stack.stackId);
      if (users.length > 0) {
        const back = stack.statusBeforeDelete ?? 'UPDATE_COMPLETE';
        delete stack.statusBeforeDelete;
        delete stack.deleteRequest;
        await this.#finish(
          ctx,
          stack,
          back,
          `Export ${o.ExportName} cannot be deleted as it is in use by ${users.join(' and ')}`,
        );
        return;
      }
    }
    const request = stack.deleteRequest ?? { retain: [], force: false };
    delete stack.deleteRequest;
    const retain = request.force
      ? Object.entries(stack.resources)
          .filter(([, r]) => r.status === 'DELETE_FAILED')
          .map(([id]) => id)
          .concat(request.retain)
      : request.retain;
    const failed = await this.#deleteResources(ctx, stack, retain);
    if (failed.length > 0) {
      await this.#finish(
        ctx,
        stack,
        'DELETE_FAILED',
        `The following resource(s) failed to delete: [${failed.join(', ')}]. `,
      );
      return;
    }
    stack.deletionTime = this.now();
    stack.outputs = [];
    stack.imports = [];
    delete stack.statusBeforeDelete;
    await this.#finish(ctx, stack, 'DELETE_COMPLETE');
  }
}

const safeParse = (text: string): Template | undefined => {
  try {
    return parse(text);
  } catch {
    return undefined;
  }
};
