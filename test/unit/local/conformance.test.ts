/**
 * Keeps the local cloud true to the AWS service models: every operation it serves is an operation of the service's
 * model (the SDK client has its Command), and every error code it raises is an error the model declares for that
 * service, one of AWS's common errors, or, for S3 (whose model declares only a few), a code from S3's documented list.
 * A typo in an error code, or a code AWS never sends, fails here: an SDK client would not map it to its exception.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SERVICES: Record<string, string> = {
  cloudformation: '@aws-sdk/client-cloudformation',
  codepipeline: '@aws-sdk/client-codepipeline',
  eventbridge: '@aws-sdk/client-eventbridge',
  s3: '@aws-sdk/client-s3',
  secretsmanager: '@aws-sdk/client-secrets-manager',
  ses: '@aws-sdk/client-sesv2',
  sns: '@aws-sdk/client-sns',
  ssm: '@aws-sdk/client-ssm',
  stepfunctions: '@aws-sdk/client-sfn',
};

/** AWS's common errors (every service may answer them) and the protocol-level codes of awsJson and awsQuery. */
const COMMON = new Set([
  'AccessDeniedException',
  'InternalFailure',
  'InvalidAction',
  'MalformedQueryString',
  'MissingParameter',
  'NotImplemented',
  'SerializationException',
  'ServiceUnavailable',
  'ThrottlingException',
  'UnknownOperationException',
  'ValidationError',
  'ValidationException',
]);

/** S3 API reference, "Error responses", list of error codes: the ones the local S3 raises that the model omits. */
const S3_CODES = new Set([
  'BadRequest',
  'BucketNotEmpty',
  'EntityTooSmall',
  'IncompleteBody',
  'InternalError',
  'InvalidArgument',
  'InvalidBucketName',
  'InvalidPart',
  'InvalidPartOrder',
  'InvalidRange',
  'InvalidTag',
  'KeyTooLongError',
  'MalformedPolicy',
  'MalformedXML',
  'MethodNotAllowed',
  'NoSuchBucketPolicy',
  'NoSuchTagSet',
  'NoSuchVersion',
]);

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

/** The error codes a service's code raises: `new AwsError('Code', …)` and its `err('Code', …)` helpers. */
const raisedCodes = (dir: string): Map<string, string> => {
  const codes = new Map<string, string>();
  for (const file of sources(join('local/services', dir))) {
    for (const m of readFileSync(file, 'utf8').matchAll(
      /(?:new AwsError|\berr|noBucketConfig)\(\s*['`]([A-Za-z.]+)['`]/g,
    )) {
      codes.set(m[1] as string, file);
    }
  }
  return codes;
};

describe.each(Object.entries(SERVICES))('local %s against the SDK model (%s)', (dir, pkg) => {
  it('serves only operations of the service model', async () => {
    const [{ service }, sdk] = await Promise.all([import(`../../../local/services/${dir}/index.ts`), import(pkg)]);
    const commands = new Set(
      Object.keys(sdk)
        .filter((k) => k.endsWith('Command'))
        .map((k) => k.slice(0, -'Command'.length)),
    );
    const operations = Object.keys((service as { operations: Record<string, unknown> }).operations);
    expect(operations.length).toBeGreaterThan(0);
    expect(operations.filter((op) => !commands.has(op))).toEqual([]);
  });

  it('raises only error codes the model, the common errors or the service documentation know', async () => {
    const sdk = (await import(pkg)) as Record<string, unknown>;
    const base = Object.entries(sdk).find(([k]) => k.endsWith('ServiceException'))?.[1] as abstract new (
      ...args: never[]
    ) => unknown;
    const modeled = new Set(
      Object.entries(sdk)
        .filter(
          ([, v]) => typeof v === 'function' && v !== base && (v as { prototype: unknown }).prototype instanceof base,
        )
        .map(([k]) => k),
    );
    expect(modeled.size).toBeGreaterThan(3);
    const codes = raisedCodes(dir);
    expect(codes.size).toBeGreaterThan(0);
    // awsQuery codes drop the class name's "Exception" suffix (SNS InvalidParameter, CloudFormation ChangeSetNotFound).
    const unknown = [...codes].filter(
      ([code]) =>
        !modeled.has(code) &&
        !modeled.has(`${code}Exception`) &&
        !COMMON.has(code) &&
        !(dir === 's3' && S3_CODES.has(code)),
    );
    expect(unknown.map(([code, file]) => `${code} (${file})`)).toEqual([]);
  });
});
