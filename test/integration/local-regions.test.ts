/**
 * ARNs carry the region the request was signed for, as on AWS: a client configured for eu-west-1 creates a topic,
 * a state machine and a stack whose ARNs say eu-west-1, while the control plane's own resources stay in the local
 * cloud's region. Each region keeps its own state (test/integration/local-accounts.test.ts).
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { CreateTopicCommand, GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '../helpers/local-cloud.ts';

let t: TestCloud;
beforeAll(async () => {
  t = await startTestCloud();
});
afterAll(async () => {
  await t?.stop();
});

describe('ARNs follow the region of the request signature', () => {
  it('creates resources with eu-west-1 ARNs for an eu-west-1 client, and us-east-1 ones for a us-east-1 client', async () => {
    const eu = { ...t.clientConfig, region: 'eu-west-1' };
    const sns = new SNSClient(eu);
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'regional-topic' }));
    expect(TopicArn).toMatch(/^arn:aws:sns:eu-west-1:\d{12}:regional-topic$/);
    const attrs = await sns.send(new GetTopicAttributesCommand({ TopicArn }));
    expect(attrs.Attributes?.TopicArn).toBe(TopicArn);
    sns.destroy();

    const sfn = new SFNClient(eu);
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: 'regional-machine',
        roleArn: 'arn:aws:iam::123456789012:role/sfn',
        definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
      }),
    );
    expect(stateMachineArn).toMatch(/^arn:aws:states:eu-west-1:\d{12}:stateMachine:regional-machine$/);
    sfn.destroy();

    const cfn = new CloudFormationClient(eu);
    const { StackId } = await cfn.send(
      new CreateStackCommand({
        StackName: 'regional-stack',
        TemplateBody: JSON.stringify({ Resources: { T: { Type: 'AWS::SNS::Topic' } } }),
      }),
    );
    expect(StackId).toMatch(/^arn:aws:cloudformation:eu-west-1:\d{12}:stack\/regional-stack\//);
    cfn.destroy();

    const home = new SNSClient(t.clientConfig);
    expect((await home.send(new CreateTopicCommand({ Name: 'home-topic' }))).TopicArn).toMatch(
      /^arn:aws:sns:us-east-1:/,
    );
    home.destroy();
    // The control plane's own resources, created from the template, keep the local cloud's region.
    expect(t.cloud.model.stateMachines[0]?.arn).toMatch(/^arn:aws:states:us-east-1:/);
  });
});
