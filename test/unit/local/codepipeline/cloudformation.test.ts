import { strToU8, unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { Provider } from '#local/services/codepipeline/providers/provider';
import { AwsError } from '#local/services/types';
import { type Loose, makeHarness, testProviders } from './harness.ts';

type Stack = {
  StackId: string;
  StackName: string;
  StackStatus: string;
  Parameters: Loose[];
  Tags: Loose[];
  Outputs: Loose[];
};

/** A tiny CloudFormation: stacks move to their final state after one DescribeStacks poll. */
function fakeCloudFormation(h: ReturnType<typeof makeHarness>, options: { failCreate?: boolean } = {}) {
  const stacks = new Map<string, Stack & { next?: string }>();
  const changeSets = new Map<string, Loose>();
  const missing = (name: string) => new AwsError('ValidationError', `Stack with id ${name} does not exist`);
  const outputsOf = (params: Loose[]) =>
    params.map((p) => ({ OutputKey: `Out${p.ParameterKey}`, OutputValue: p.ParameterValue }));
  h.handlers['cloudformation.DescribeStacks'] = (i) => {
    const s = stacks.get(i.StackName as string);
    if (!s) throw missing(i.StackName as string);
    const view = { ...s };
    if (s.next) {
      s.StackStatus = s.next;
      s.next = undefined;
      if (s.StackStatus === 'DELETE_COMPLETE') stacks.delete(s.StackName);
    }
    return { Stacks: [view] };
  };
  h.handlers['cloudformation.CreateStack'] = (i) => {
    const name = i.StackName as string;
    stacks.set(name, {
      StackId: `arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/1`,
      StackName: name,
      StackStatus: 'CREATE_IN_PROGRESS',
      next: options.failCreate ? 'ROLLBACK_COMPLETE' : 'CREATE_COMPLETE',
      Parameters: i.Parameters as Loose[],
      Tags: (i.Tags as Loose[]) ?? [],
      Outputs: outputsOf(i.Parameters as Loose[]),
    });
    return { StackId: stacks.get(name)?.StackId };
  };
  h.handlers['cloudformation.UpdateStack'] = (i) => {
    const s = stacks.get(i.StackName as string);
    if (!s) throw missing(i.StackName as string);
    if (JSON.stringify(s.Parameters) === JSON.stringify(i.Parameters))
      throw new AwsError('ValidationError', 'No updates are to be performed.');
    Object.assign(s, {
      StackStatus: 'UPDATE_IN_PROGRESS',
      next: 'UPDATE_COMPLETE',
      Parameters: i.Parameters,
      Outputs: outputsOf(i.Parameters as Loose[]),
    });
    return {};
  };
  h.handlers['cloudformation.DeleteStack'] = (i) => {
    const s = stacks.get(i.StackName as string);
    if (s) Object.assign(s, { StackStatus: 'DELETE_IN_PROGRESS', next: 'DELETE_COMPLETE' });
    return {};
  };
  h.handlers['cloudformation.CreateChangeSet'] = (i) => {
    changeSets.set(`${i.StackName}/${i.ChangeSetName}`, { ...i, Status: 'CREATE_COMPLETE', ChangeSetId: 'cs-1' });
    return { Id: 'cs-1' };
  };
  h.handlers['cloudformation.DeleteChangeSet'] = () => ({});
  h.handlers['cloudformation.DescribeChangeSet'] = (i) => changeSets.get(`${i.StackName}/${i.ChangeSetName}`);
  h.handlers['cloudformation.ExecuteChangeSet'] = (i) => {
    const cs = changeSets.get(`${i.StackName}/${i.ChangeSetName}`);
    const create = h.handlers['cloudformation.CreateStack'];
    if (!create) throw new Error('no CreateStack');
    return create(cs);
  };
  return stacks;
}

const template = 'Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n';
const appZip = zipSync({
  'template.yaml': strToU8(template),
  'test-config.json': strToU8(JSON.stringify({ Parameters: { Env: 'test', Size: 'small' }, Tags: { team: 'crew' } })),
  'params.json': strToU8(JSON.stringify({ Version: '42' })),
});
const appSource: Provider = {
  run: async (p) => ({
    status: 'Succeeded',
    outputs: { [p.run.outputArtifacts[0]?.name ?? '']: appZip },
    revision: { revisionId: 'r1', revisionSummary: 's' },
  }),
};

const cfnAction = (name: string, configuration: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  name,
  actionTypeId: { category: 'Deploy', owner: 'AWS', provider: 'CloudFormation', version: '1' },
  configuration: { RoleArn: 'arn:aws:iam::123456789012:role/cfn', ...configuration },
  inputArtifacts: [{ name: 'App' }],
  ...extra,
});

const decl = (stages: unknown[]) => ({
  name: 'cfn',
  roleArn: 'arn:aws:iam::123456789012:role/pipeline',
  artifactStore: { type: 'S3', location: 'artifacts' },
  stages: [
    {
      name: 'Source',
      actions: [
        {
          name: 'Source',
          actionTypeId: { category: 'Source', owner: 'AWS', provider: 'S3', version: '1' },
          configuration: { S3Bucket: 'b', S3ObjectKey: 'k' },
          outputArtifacts: [{ name: 'App' }],
        },
      ],
    },
    ...stages,
  ],
});

const setup = (options?: { failCreate?: boolean }) => {
  const h = makeHarness({ providers: { ...testProviders(), 'Source/AWS/S3': appSource } });
  return { h, stacks: fakeCloudFormation(h, options) };
};

describe('Deploy/CloudFormation provider', () => {
  it('CREATE_UPDATE with TemplateConfiguration, ParameterOverrides (Fn::GetParam), outputs as variables and OutputFileName', async () => {
    const { h, stacks } = setup();
    await h.op('CreatePipeline', {
      pipeline: decl([
        {
          name: 'Deploy',
          actions: [
            cfnAction(
              'DeployTest',
              {
                ActionMode: 'CREATE_UPDATE',
                StackName: 'test-#{codepipeline.PipelineExecutionId}',
                TemplatePath: 'App::template.yaml',
                TemplateConfiguration: 'App::test-config.json',
                ParameterOverrides: JSON.stringify({
                  Size: 'large',
                  Version: { 'Fn::GetParam': ['App', 'params.json', 'Version'] },
                }),
                Capabilities: 'CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND',
                OutputFileName: 'outputs.json',
              },
              { namespace: 'TestStack', outputArtifacts: [{ name: 'StackOut' }] },
            ),
          ],
        },
      ]),
    });
    const id = await h.latestExecutionId('cfn');
    expect((await h.execution('cfn', id)).status).toBe('Succeeded');
    const create = h.calls.find((c) => c.operation === 'CreateStack')?.input as Loose;
    expect(create).toMatchObject({
      StackName: `test-${id}`,
      TemplateBody: template,
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_AUTO_EXPAND'],
      RoleARN: 'arn:aws:iam::123456789012:role/cfn',
      Tags: [{ Key: 'team', Value: 'crew' }],
    });
    expect(create.Parameters).toEqual([
      { ParameterKey: 'Env', ParameterValue: 'test' },
      { ParameterKey: 'Size', ParameterValue: 'large' },
      { ParameterKey: 'Version', ParameterValue: '42' },
    ]);
    expect(stacks.get(`test-${id}`)?.StackStatus).toBe('CREATE_COMPLETE');
    const details = (await h.op<{ actionExecutionDetails: Loose[] }>('ListActionExecutions', { pipelineName: 'cfn' }))
      .actionExecutionDetails;
    const deploy = details.find((d) => d.actionName === 'DeployTest');
    expect(deploy.output.outputVariables).toEqual({ OutEnv: 'test', OutSize: 'large', OutVersion: '42' });
    expect(deploy.output.executionResult.externalExecutionId).toBe(
      `arn:aws:cloudformation:us-east-1:123456789012:stack/test-${id}/1`,
    );
    const out = deploy.output.outputArtifacts[0].s3location;
    const files = unzipSync(h.objects.get(`${out.bucket}/${out.key}`) as Uint8Array);
    expect(JSON.parse(new TextDecoder().decode(files['outputs.json']))).toEqual({
      OutEnv: 'test',
      OutSize: 'large',
      OutVersion: '42',
    });
  });

  it('CREATE_UPDATE on an unchanged stack succeeds ("No updates"); a failed create fails the action', async () => {
    const { h } = setup();
    const p = decl([
      {
        name: 'D',
        actions: [
          cfnAction('D', { ActionMode: 'CREATE_UPDATE', StackName: 'prod', TemplatePath: 'App::template.yaml' }),
        ],
      },
    ]);
    await h.op('CreatePipeline', { pipeline: p });
    const { pipelineExecutionId } = await h.op<{ pipelineExecutionId: string }>('StartPipelineExecution', {
      name: 'cfn',
    });
    expect(await h.execution('cfn', pipelineExecutionId)).toMatchObject({ status: 'Succeeded' });
    expect(h.calls.filter((c) => c.operation === 'UpdateStack')).toHaveLength(1);

    const f = setup({ failCreate: true });
    await f.h.op('CreatePipeline', { pipeline: p });
    const exec = await f.h.execution('cfn', await f.h.latestExecutionId('cfn'));
    expect(exec).toMatchObject({ status: 'Failed' });
    expect(exec.statusSummary).toContain('Stack prod is ROLLBACK_COMPLETE');
  });

  it('REPLACE_ON_FAILURE deletes a failed stack first; DELETE_ONLY deletes, and succeeds when there is nothing to delete', async () => {
    const { h, stacks } = setup();
    stacks.set('t', {
      StackId: 'old',
      StackName: 't',
      StackStatus: 'ROLLBACK_COMPLETE',
      Parameters: [],
      Tags: [],
      Outputs: [],
    });
    await h.op('CreatePipeline', {
      pipeline: decl([
        {
          name: 'Test',
          actions: [
            cfnAction('Deploy', {
              ActionMode: 'REPLACE_ON_FAILURE',
              StackName: 't',
              TemplatePath: 'App::template.yaml',
            }),
          ],
        },
        {
          name: 'Cleanup',
          actions: [
            cfnAction('Delete', { ActionMode: 'DELETE_ONLY', StackName: 't' }),
            cfnAction('DeleteMissing', { ActionMode: 'DELETE_ONLY', StackName: 'never-existed' }),
          ],
        },
      ]),
    });
    const id = await h.latestExecutionId('cfn');
    expect((await h.execution('cfn', id)).status).toBe('Succeeded');
    expect(
      h.calls
        .filter((c) => c.service === 'cloudformation')
        .map((c) => c.operation)
        .filter((o) => o !== 'DescribeStacks'),
    ).toEqual(['DeleteStack', 'CreateStack', 'DeleteStack']);
    expect(stacks.has('t')).toBe(false);
  });

  it('CHANGE_SET_REPLACE then CHANGE_SET_EXECUTE; an unknown ActionMode is a configuration error', async () => {
    const { h, stacks } = setup();
    await h.op('CreatePipeline', {
      pipeline: decl([
        {
          name: 'Prepare',
          actions: [
            cfnAction('Plan', {
              ActionMode: 'CHANGE_SET_REPLACE',
              StackName: 'prod',
              ChangeSetName: 'cs',
              TemplatePath: 'App::template.yaml',
            }),
          ],
        },
        {
          name: 'Apply',
          actions: [cfnAction('Run', { ActionMode: 'CHANGE_SET_EXECUTE', StackName: 'prod', ChangeSetName: 'cs' })],
        },
      ]),
    });
    expect((await h.execution('cfn', await h.latestExecutionId('cfn'))).status).toBe('Succeeded');
    expect(h.calls.find((c) => c.operation === 'CreateChangeSet')?.input).toMatchObject({
      ChangeSetType: 'CREATE',
      ChangeSetName: 'cs',
    });
    expect(stacks.get('prod')?.StackStatus).toBe('CREATE_COMPLETE');

    const b = setup();
    await b.h.op('CreatePipeline', {
      pipeline: decl([{ name: 'D', actions: [cfnAction('D', { ActionMode: 'YOLO', StackName: 's' })] }]),
    });
    const exec = await b.h.execution('cfn', await b.h.latestExecutionId('cfn'));
    expect(exec.statusSummary).toContain('ActionMode YOLO is not one of');
  });

  it('CREATE_UPDATE brings a REVIEW_IN_PROGRESS stack (an unexecuted change set) to life with a CREATE change set', async () => {
    const { h, stacks } = setup();
    stacks.set('prod', {
      StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/prod/review',
      StackName: 'prod',
      StackStatus: 'REVIEW_IN_PROGRESS',
      Parameters: [],
      Tags: [],
      Outputs: [],
    });
    // As on AWS: the name is taken, so CreateStack is refused; UpdateStack of a stack never created is invalid.
    h.handlers['cloudformation.CreateStack'] = (i) => {
      throw new AwsError('AlreadyExistsException', `Stack [${i.StackName}] already exists`);
    };
    h.handlers['cloudformation.UpdateStack'] = () => {
      throw new AwsError('ValidationError', 'Stack [prod] does not exist');
    };
    const changeSets = new Map<string, Loose>();
    h.handlers['cloudformation.CreateChangeSet'] = (i) => {
      changeSets.set(i.ChangeSetName as string, { ...i, Status: 'CREATE_COMPLETE', ChangeSetId: 'cs-9' });
      return { Id: 'cs-9' };
    };
    h.handlers['cloudformation.DescribeChangeSet'] = (i) => changeSets.get(i.ChangeSetName as string) ?? {};
    h.handlers['cloudformation.ExecuteChangeSet'] = (i) => {
      const cs = changeSets.get(i.ChangeSetName as string) as Loose;
      const s = stacks.get('prod');
      if (!s || !cs) throw new Error('no stack or change set');
      Object.assign(s, {
        StackStatus: 'CREATE_IN_PROGRESS',
        next: 'CREATE_COMPLETE',
        Parameters: cs.Parameters,
        Outputs: [{ OutputKey: 'Url', OutputValue: 'https://prod' }],
      });
      return {};
    };
    await h.op('CreatePipeline', {
      pipeline: decl([
        {
          name: 'D',
          actions: [
            cfnAction('D', {
              ActionMode: 'CREATE_UPDATE',
              StackName: 'prod',
              TemplatePath: 'App::template.yaml',
              ParameterOverrides: '{"Env":"prod"}',
            }),
          ],
        },
      ]),
    });
    const exec = await h.execution('cfn', await h.latestExecutionId('cfn'));
    expect(exec).toMatchObject({ status: 'Succeeded' });
    const ops = h.calls.filter((c) => c.service === 'cloudformation').map((c) => c.operation);
    expect(ops).not.toContain('CreateStack');
    expect(ops.filter((o) => !o.startsWith('Describe'))).toEqual(['CreateChangeSet', 'ExecuteChangeSet']);
    expect(h.calls.find((c) => c.operation === 'CreateChangeSet')?.input).toMatchObject({
      StackName: 'prod',
      ChangeSetType: 'CREATE',
      TemplateBody: template,
      Parameters: [{ ParameterKey: 'Env', ParameterValue: 'prod' }],
      RoleARN: 'arn:aws:iam::123456789012:role/cfn',
    });
    expect(stacks.get('prod')).toMatchObject({
      StackStatus: 'CREATE_COMPLETE',
      StackId: expect.stringContaining('review'),
    });
  });
});
