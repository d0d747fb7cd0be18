import { describe, expect, it } from 'vitest';
import { jsonError, parseJsonBody, toJsonValue } from '#local/protocols/aws-json';
import { decodeQuery, parseForm, queryError, queryResponse, toXml } from '#local/protocols/aws-query';
import { credentialScope } from '#local/protocols/sigv4';
import { AwsError, QueryMap } from '#local/services/types';

const decode = (body: string) => decodeQuery(parseForm(body));

describe('awsQuery form decoding', () => {
  it('turns member lists, entry maps and nested structures into SDK shapes', () => {
    const { action, version, input } = decode(
      [
        'Action=CreateStack',
        'Version=2010-05-15',
        'StackName=s1',
        'Parameters.member.2.ParameterKey=B',
        'Parameters.member.1.ParameterKey=A',
        'Parameters.member.1.ParameterValue=1',
        'Tags.member.1.Key=team',
        'Tags.member.1.Value=ops',
        'Attributes.entry.1.key=DisplayName',
        'Attributes.entry.1.value=Hi%20there',
        'MessageAttributes.entry.1.Name=kind',
        'MessageAttributes.entry.1.Value.DataType=String',
        'MessageAttributes.entry.1.Value.StringValue=a+b',
      ].join('&'),
    );
    expect(action).toBe('CreateStack');
    expect(version).toBe('2010-05-15');
    expect(input).toEqual({
      StackName: 's1',
      Parameters: [{ ParameterKey: 'A', ParameterValue: '1' }, { ParameterKey: 'B' }],
      Tags: [{ Key: 'team', Value: 'ops' }],
      Attributes: { DisplayName: 'Hi there' },
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'a b' } },
    });
  });

  it('orders list members numerically, not lexically', () => {
    const pairs = Array.from({ length: 12 }, (_, i) => `L.member.${i + 1}=${i + 1}`).reverse();
    expect(decode(`Action=X&${pairs.join('&')}`).input.L).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)));
  });

  it.each([
    ['a missing Action', 'Name=x', 'MissingAction'],
    ['broken percent-encoding', 'Action=X&A=%E0%A4%A', 'ValidationError'],
    ['a non-numeric member index', 'Action=X&L.member.a=1', 'ValidationError'],
    ['a repeated parameter', 'Action=X&A=1&A=2', 'ValidationError'],
    ['a value that is also a structure', 'Action=X&A=1&A.B=2', 'ValidationError'],
    ['an empty name segment', 'Action=X&A..B=1', 'ValidationError'],
    ['a map entry without a key', 'Action=X&M.entry.1.value=v', 'ValidationError'],
  ])('rejects %s with %s', (_what, body, code) => {
    expect(() => decode(body)).toThrow(expect.objectContaining({ code }));
  });
});

describe('awsQuery XML', () => {
  it('serializes structures, member lists, QueryMaps and dates', () => {
    const xml = toXml({
      TopicArn: 'arn:a&b',
      Items: [{ K: 1 }, { K: 2 }],
      Attributes: new QueryMap({ a: 'x<y' }),
      When: new Date('2026-01-02T03:04:05.000Z'),
      Flag: false,
      Missing: undefined,
    });
    expect(xml).toBe(
      '<TopicArn>arn:a&amp;b</TopicArn><Items><member><K>1</K></member><member><K>2</K></member></Items>' +
        '<Attributes><entry><key>a</key><value>x&lt;y</value></entry></Attributes>' +
        '<When>2026-01-02T03:04:05.000Z</When><Flag>false</Flag>',
    );
  });

  it('wraps results and errors as AWS does', () => {
    const ok = queryResponse('CreateTopic', 'http://sns.amazonaws.com/doc/2010-03-31/', { TopicArn: 't' }, 'req-1');
    expect(ok.body).toContain(
      '<CreateTopicResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><CreateTopicResult><TopicArn>t</TopicArn></CreateTopicResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></CreateTopicResponse>',
    );
    const empty = queryResponse('DeleteTopic', 'ns', undefined, 'req-2');
    expect(empty.body).not.toContain('DeleteTopicResult');
    const err = queryError(new AwsError('NotFound', 'Topic does not exist', 404), 'req-3');
    expect(err.status).toBe(404);
    expect(err.body).toContain(
      '<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>req-3</RequestId></ErrorResponse>',
    );
    expect(queryError(new AwsError('InternalFailure', 'x', 500)).body).toContain('<Type>Receiver</Type>');
  });
});

describe('awsJson', () => {
  it('parses objects, rejects anything else with SerializationException', () => {
    expect(parseJsonBody(Buffer.from(''))).toEqual({});
    expect(parseJsonBody(Buffer.from('{"a":1}'))).toEqual({ a: 1 });
    for (const bad of ['{', '"s"', 'null', '[]']) {
      expect(() => parseJsonBody(Buffer.from(bad))).toThrow(
        expect.objectContaining({ code: 'SerializationException' }),
      );
    }
  });

  it('writes dates as epoch seconds and errors with __type and x-amzn-ErrorType', () => {
    expect(toJsonValue({ d: new Date(1500), m: new QueryMap({ k: 'v' }), u: undefined })).toEqual({
      d: 1.5,
      m: { k: 'v' },
    });
    const err = jsonError('1.0', new AwsError('ResourceNotFoundException', 'gone'));
    expect(err.headers?.['x-amzn-errortype']).toBe('ResourceNotFoundException');
    expect(err.headers?.['content-type']).toBe('application/x-amz-json-1.0');
    expect(JSON.parse(String(err.body))).toEqual({ __type: 'ResourceNotFoundException', message: 'gone' });
  });
});

describe('SigV4 credential scope', () => {
  it('reads the service from the Authorization header or a presigned query', () => {
    const header =
      'AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/sns/aws4_request, SignedHeaders=host, Signature=abc';
    expect(credentialScope({ authorization: header }, new URLSearchParams())).toEqual({
      accessKeyId: 'AKID',
      date: '20260101',
      region: 'eu-west-1',
      service: 'sns',
    });
    const q = new URLSearchParams({ 'X-Amz-Credential': 'AKID/20260101/us-east-1/s3/aws4_request' });
    expect(credentialScope({}, q)?.service).toBe('s3');
    expect(credentialScope({ authorization: 'Bearer x' }, new URLSearchParams())).toBeUndefined();
  });
});
