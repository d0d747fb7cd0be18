/**
 * Local Parameter Store through the AWS SDK, as the Systems Manager API reference and the Parameter Store user guide
 * describe it (messages as Parameter Store words them): naming rules, a type on create, data types, tiers kept across
 * overwrites, `/name` and `name` as one top-level parameter, GetParameters and GetParametersByPath('/').
 */
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../helpers/local-cloud.ts';

let t: TestCloud;
let ssm: SSMClient;

beforeAll(async () => {
  t = await startTestCloud();
  ssm = new SSMClient(t.clientConfig);
});
afterAll(async () => {
  ssm?.destroy();
  await t?.stop();
});

describe('local SSM Parameter Store', () => {
  it('treats /name and name as the same top-level parameter', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/ps-top', Value: 'one', Type: 'String' }));
    expect((await ssm.send(new GetParameterCommand({ Name: 'ps-top' }))).Parameter?.Value).toBe('one');
    await expect(
      ssm.send(new PutParameterCommand({ Name: 'ps-top', Value: 'two', Type: 'String' })),
    ).rejects.toMatchObject({ name: 'ParameterAlreadyExists' });
    const byPath = await ssm.send(new GetParametersByPathCommand({ Path: '/' }));
    expect(byPath.Parameters?.map((p) => p.Value)).toContain('one');
    await ssm.send(new DeleteParameterCommand({ Name: 'ps-top' }));
    await expect(ssm.send(new GetParameterCommand({ Name: '/ps-top' }))).rejects.toMatchObject({
      name: 'ParameterNotFound',
    });
  });

  it('validates names, types and data types with Parameter Store messages', async () => {
    await expect(ssm.send(new PutParameterCommand({ Name: 'ps-untyped', Value: 'v' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'A parameter type is required when you create a parameter.',
    });
    await expect(
      ssm.send(new PutParameterCommand({ Name: 'awsThing', Value: 'v', Type: 'String' })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).',
    });
    await expect(
      ssm.send(new PutParameterCommand({ Name: '/team/bad name', Value: 'v', Type: 'String' })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(
      ssm.send(new PutParameterCommand({ Name: 'ps-typed', Value: 'v', Type: 'Text' as 'String' })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(
      ssm.send(new PutParameterCommand({ Name: 'ps-data', Value: 'v', Type: 'String', DataType: 'Text' })),
    ).rejects.toMatchObject({
      message: 'The following data type is not supported: Text (Data type names are all lowercase.)',
    });
  });

  it('keeps the tier across overwrites and sizes Intelligent-Tiering to the value', async () => {
    const big = 'x'.repeat(5000);
    await expect(
      ssm.send(new PutParameterCommand({ Name: '/ps/tier/standard', Value: big, Type: 'String' })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    const small = await ssm.send(
      new PutParameterCommand({ Name: '/ps/tier/auto', Value: 'v', Type: 'String', Tier: 'Intelligent-Tiering' }),
    );
    expect(small.Tier).toBe('Standard');
    const grown = await ssm.send(
      new PutParameterCommand({ Name: '/ps/tier/auto', Value: big, Overwrite: true, Tier: 'Intelligent-Tiering' }),
    );
    expect(grown).toMatchObject({ Tier: 'Advanced', Version: 2 });
    // Overwritten without a tier: still advanced; a downgrade is refused.
    expect((await ssm.send(new PutParameterCommand({ Name: '/ps/tier/auto', Value: 'v', Overwrite: true }))).Tier).toBe(
      'Advanced',
    );
    await expect(
      ssm.send(new PutParameterCommand({ Name: '/ps/tier/auto', Value: 'v', Overwrite: true, Tier: 'Standard' })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('answers GetParameters once per name and reports unknown names and versions', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/ps/many/a', Value: 'a1', Type: 'String' }));
    await ssm.send(new PutParameterCommand({ Name: '/ps/many/a', Value: 'a2', Type: 'String', Overwrite: true }));
    const out = await ssm.send(
      new GetParametersCommand({
        Names: ['/ps/many/a', '/ps/many/a', '/ps/many/a:1', '/ps/many/a:9', '/ps/many/none'],
      }),
    );
    expect(out.Parameters?.map((p) => [p.Value, p.Selector])).toEqual([
      ['a2', undefined],
      ['a1', ':1'],
    ]);
    expect(out.InvalidParameters).toEqual(['/ps/many/a:9', '/ps/many/none']);
  });
});
