import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors';
import type { TaskTokenSink } from '#core/teardown/ports';
import { handleStackEvent, parseStackStatusChange } from '#core/teardown/stack-events';
import createNoToken from '../../../events/cloudformation-stack-create-complete-no-token.json' with { type: 'json' };
import deleteComplete from '../../../events/cloudformation-stack-delete-complete.json' with { type: 'json' };
import exportInUse from '../../../events/cloudformation-stack-export-in-use.json' with { type: 'json' };
import { MemoryStore } from '../../workflow/harness.ts';

const stackId = deleteComplete.detail['stack-id'];
const crt = deleteComplete.detail['client-request-token'];

const setup = () => {
  const store = new MemoryStore();
  const sent: Array<{ token: string; output: Record<string, unknown> }> = [];
  const tasks: TaskTokenSink = {
    succeed: async (token, output) => {
      sent.push({ token, output });
      return 'reported';
    },
    fail: async () => 'reported',
  };
  const wait = (clientRequestToken: string, taskToken: string, onStack = stackId) =>
    store.putWait({ stackId: onStack, clientRequestToken, taskToken, runId: 'r', createdAt: '', expiresAt: 0 });
  // What a fresh DescribeStacks by StackId answers.
  const described: string[] = [];
  let current: string | undefined = 'DELETE_COMPLETE';
  const stacks = {
    describe: async (id: string) => {
      described.push(id);
      return current === undefined
        ? undefined
        : { stackId: id, stackName: 'test-a', status: current, tags: {}, terminationProtection: false };
    },
  };
  const deps = { store, tasks, stacks };
  const setStatus = (s: string | undefined) => {
    current = s;
  };
  return { store, sent, tasks, wait, stacks, deps, described, setStatus };
};

/** The event without its client-request-token, as CloudFormation sends it for changes made without one. */
const withoutToken = (status: string, token?: string) => {
  const { 'client-request-token': _, ...detail } = structuredClone(deleteComplete.detail);
  detail['status-details'].status = status;
  return { ...deleteComplete, detail: token === undefined ? detail : { ...detail, 'client-request-token': token } };
};

describe('handleStackEvent', () => {
  it('resumes the wait of our DeleteStack, matched by ClientRequestToken, with the status', async () => {
    const { sent, wait, deps } = setup();
    await wait(crt, 'tok-ours');
    await wait('stagecrew-other-1', 'tok-other');
    expect(await handleStackEvent(parseStackStatusChange(deleteComplete), deps)).toEqual({
      status: 'resumed',
      tasks: 1,
      gone: 0,
    });
    expect(sent).toEqual([{ token: 'tok-ours', output: { status: 'DELETE_COMPLETE', via: 'event' } }]);
  });

  it('passes a refused delete (export in use, back to UPDATE_COMPLETE) with its reason', async () => {
    const { sent, wait, deps } = setup();
    await wait(crt, 'tok');
    await handleStackEvent(parseStackStatusChange(exportInUse), deps);
    expect(sent[0]?.output).toEqual({
      status: 'UPDATE_COMPLETE',
      reason: 'Export test-a-VpcId cannot be deleted as it is in use by test-b',
      via: 'event',
    });
  });

  it('ignores in-progress statuses and stacks nobody waits for', async () => {
    const { sent, wait, deps } = setup();
    const inProgress = structuredClone(deleteComplete);
    inProgress.detail['status-details'].status = 'DELETE_IN_PROGRESS';
    await wait(crt, 'tok');
    expect(await handleStackEvent(parseStackStatusChange(inProgress), deps)).toMatchObject({ status: 'ignored' });
    expect(
      await handleStackEvent(parseStackStatusChange(deleteComplete), { ...deps, store: new MemoryStore() }),
    ).toMatchObject({
      status: 'ignored',
    });
    expect(sent).toEqual([]);
  });

  it('refuses a malformed event at the boundary with a typed error', () => {
    expect(() => parseStackStatusChange({ detail: {} })).toThrow(ValidationError);
  });

  it('a CREATE_COMPLETE or UPDATE_COMPLETE without a token never resumes a DeleteStack wait (AWS sample event)', async () => {
    const { sent, wait, deps, described } = setup();
    const foreign = createNoToken.detail['stack-id'];
    await wait(crt, 'tok-ours', foreign);
    await wait('external-delete', 'tok-external', foreign);
    expect(await handleStackEvent(parseStackStatusChange(createNoToken), deps)).toEqual({
      status: 'ignored',
      why: 'CREATE_COMPLETE without a client-request-token is not the outcome of a deletion',
    });
    await wait(crt, 'tok-ours');
    for (const status of ['UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'ROLLBACK_COMPLETE', 'IMPORT_COMPLETE']) {
      expect(await handleStackEvent(parseStackStatusChange(withoutToken(status)), deps)).toMatchObject({
        status: 'ignored',
      });
      expect(await handleStackEvent(parseStackStatusChange(withoutToken(status, '')), deps)).toMatchObject({
        status: 'ignored',
      });
    }
    expect(sent).toEqual([]);
    expect(described).toEqual([]);
  });

  it('a deletion outcome without a token resumes the waits once a fresh DescribeStacks by StackId agrees', async () => {
    const { sent, wait, deps, described } = setup();
    await wait(crt, 'tok-ours');
    await wait('external-delete', 'tok-external');
    expect(await handleStackEvent(parseStackStatusChange(withoutToken('DELETE_COMPLETE')), deps)).toEqual({
      status: 'resumed',
      tasks: 2,
      gone: 0,
    });
    expect(described).toEqual([stackId]);
    expect(sent.map((s) => s.token).sort()).toEqual(['tok-external', 'tok-ours']);
  });

  it('a late DELETE_FAILED without a token is ignored while DescribeStacks shows the retry deleting', async () => {
    const { sent, wait, deps, setStatus } = setup();
    await wait(crt, 'tok-ours');
    setStatus('DELETE_IN_PROGRESS');
    expect(await handleStackEvent(parseStackStatusChange(withoutToken('DELETE_FAILED')), deps)).toEqual({
      status: 'ignored',
      why: 'DELETE_FAILED without a client-request-token, and DescribeStacks says DELETE_IN_PROGRESS',
    });
    setStatus(undefined);
    expect(await handleStackEvent(parseStackStatusChange(withoutToken('DELETE_COMPLETE')), deps)).toMatchObject({
      status: 'ignored',
    });
    expect(sent).toEqual([]);
  });

  it("someone else's deletion wait takes only a deletion outcome, even with a token", async () => {
    const { sent, wait, deps } = setup();
    await wait('external-delete', 'tok-external');
    expect(await handleStackEvent(parseStackStatusChange(exportInUse), deps)).toMatchObject({ status: 'ignored' });
    expect(await handleStackEvent(parseStackStatusChange(deleteComplete), deps)).toMatchObject({
      status: 'resumed',
      tasks: 1,
    });
    expect(sent.map((s) => s.token)).toEqual(['tok-external']);
  });
});
