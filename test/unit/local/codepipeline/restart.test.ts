import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Provider } from '#local/services/codepipeline/providers/provider';
import { FileStore } from '#local/store/store';
import { approvalAction, makeHarness, pipeline, sourceStage, testProviders } from './harness.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const stateDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'cp-restart-'));
  dirs.push(d);
  return d;
};

describe('durability across a restart (file store)', () => {
  it('an approval that was waiting is still waiting after a restart and can be approved', async () => {
    const dir = stateDir();
    const before = makeHarness({ providers: testProviders() }, new FileStore(dir));
    await before.op('CreatePipeline', {
      pipeline: pipeline('d', [sourceStage(), { name: 'A', actions: [approvalAction('Gate')] }]),
    });
    const gate = (await before.state('d')).stageStates[1]?.actionStates[0]?.latestExecution as
      | { token?: string }
      | undefined;
    const token = gate?.token;
    await before.cp.service.stop?.();
    before.store.close();

    const after = makeHarness({ providers: testProviders() }, new FileStore(dir));
    await after.op('PutApprovalResult', {
      pipelineName: 'd',
      stageName: 'A',
      actionName: 'Gate',
      token,
      result: { status: 'Approved', summary: 'after restart' },
    });
    const id = await after.latestExecutionId('d');
    expect(await after.execution('d', id)).toMatchObject({ status: 'Succeeded' });
    after.store.close();
  });

  it('an in-process action cut off by the restart runs again and the execution completes', async () => {
    const dir = stateDir();
    let release: (() => void) | undefined;
    const hanging: Provider = {
      run: () =>
        new Promise((r) => {
          release = () => r({ status: 'Failed', code: 'JobFailed', message: 'late result of the dead process' });
        }),
    };
    const build = {
      name: 'B',
      actions: [
        {
          name: 'Build',
          actionTypeId: { category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1' },
          inputArtifacts: [{ name: 'SourceOutput' }],
        },
      ],
    };
    const before = makeHarness(
      { providers: { ...testProviders(), 'Build/AWS/CodeBuild': hanging } },
      new FileStore(dir),
    );
    const create = before.cp.service.operations.CreatePipeline;
    await create?.({ pipeline: pipeline('r', [sourceStage(), build]) }, before.ctx);
    await new Promise((r) => setTimeout(r, 20));
    expect(release).toBeDefined();
    before.store.close(); // the process "dies" with the build in progress

    let runs = 0;
    const ok: Provider = {
      run: async () => {
        runs++;
        return { status: 'Succeeded', summary: 'rebuilt' };
      },
    };
    const after = makeHarness({ providers: { ...testProviders(), 'Build/AWS/CodeBuild': ok } }, new FileStore(dir));
    await after.cp.engine.idle();
    const id = await after.latestExecutionId('r');
    expect(await after.execution('r', id)).toMatchObject({ status: 'Succeeded' });
    expect(runs).toBe(1);
    after.store.close();
    release?.(); // the old instance's late result must not matter (its store is closed)
  });
});

describe('shutdown', () => {
  it('stopping the local cloud kills in-process actions without recording a result, so they run again', async () => {
    const stopped: Provider = {
      run: (p) =>
        new Promise((resolve) =>
          p.signal.addEventListener('abort', () => resolve({ status: 'Failed', code: 'JobFailed', message: 'killed' })),
        ),
    };
    const build = {
      name: 'B',
      actions: [
        { name: 'Build', actionTypeId: { category: 'Build', owner: 'AWS', provider: 'CodeBuild', version: '1' } },
      ],
    };
    const h = makeHarness({ providers: { ...testProviders(), 'Build/AWS/CodeBuild': stopped } });
    const create = h.cp.service.operations.CreatePipeline;
    await create?.({ pipeline: pipeline('s', [sourceStage(), build]) }, h.ctx);
    await new Promise((r) => setTimeout(r, 20));
    await h.cp.service.stop?.();
    const [, exec] =
      h.store.list<{ status: string; stages: Record<string, { actions: Record<string, { status: string }> }> }>(
        'codepipeline:executions',
      )[0] ?? [];
    expect(exec?.status).toBe('InProgress');
    expect(exec?.stages.B?.actions.Build?.status).toBe('InProgress');
  });
});
