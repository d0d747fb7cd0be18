import { describe, expect, it } from 'vitest';
import type { TaskTokenSink } from '#core/adapters/stepfunctions';
import { ValidationError } from '#core/errors';
import { handleStackEvent } from '#core/teardown/stack-events';
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
  const wait = (clientRequestToken: string, taskToken: string) =>
    store.putWait({ stackId, clientRequestToken, taskToken, runId: 'r', createdAt: '', expiresAt: 0 });
  return { store, sent, tasks, wait };
};

describe('handleStackEvent', () => {
  it('resumes the wait of our DeleteStack, matched by ClientRequestToken, with the status', async () => {
    const { store, sent, tasks, wait } = setup();
    await wait(crt, 'tok-ours');
    await wait('stagecrew-other-1', 'tok-other');
    expect(await handleStackEvent(deleteComplete, { store, tasks })).toEqual({ status: 'resumed', tasks: 1, gone: 0 });
    expect(sent).toEqual([{ token: 'tok-ours', output: { status: 'DELETE_COMPLETE', via: 'event' } }]);
  });

  it('passes a refused delete (export in use, back to UPDATE_COMPLETE) with its reason', async () => {
    const { store, sent, tasks, wait } = setup();
    await wait(crt, 'tok');
    await handleStackEvent(exportInUse, { store, tasks });
    expect(sent[0]?.output).toEqual({
      status: 'UPDATE_COMPLETE',
      reason: 'Export test-a-VpcId cannot be deleted as it is in use by test-b',
      via: 'event',
    });
  });

  it('ignores in-progress statuses and stacks nobody waits for', async () => {
    const { store, sent, tasks, wait } = setup();
    const inProgress = structuredClone(deleteComplete);
    inProgress.detail['status-details'].status = 'DELETE_IN_PROGRESS';
    await wait(crt, 'tok');
    expect(await handleStackEvent(inProgress, { store, tasks })).toMatchObject({ status: 'ignored' });
    expect(await handleStackEvent(deleteComplete, { store: new MemoryStore(), tasks })).toMatchObject({
      status: 'ignored',
    });
    expect(sent).toEqual([]);
  });

  it('refuses a malformed event with a typed error', async () => {
    const { store, tasks } = setup();
    await expect(handleStackEvent({ detail: {} }, { store, tasks })).rejects.toBeInstanceOf(ValidationError);
  });
});
