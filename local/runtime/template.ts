import { readFileSync } from 'node:fs';
import { parse, type Tags } from 'yaml';

/**
 * Loads a CloudFormation/SAM template with its short-form intrinsic tags (`!Ref`, `!GetAtt`, `!Sub`, …)
 * turned into their long form (`{ Ref: … }`, `{ 'Fn::GetAtt': [...] }`), exactly as CloudFormation reads them.
 * Used by the template tests and by the local cloud's wiring.
 */
export type Template = {
  AWSTemplateFormatVersion?: string;
  Transform?: string | string[];
  Parameters?: Record<string, { Type: string; Default?: unknown } & Record<string, unknown>>;
  Conditions?: Record<string, unknown>;
  Globals?: Record<string, Record<string, unknown>>;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown; Export?: unknown; Description?: string }>;
};
export type Resource = {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
};

const SHORT_FORMS: ReadonlyArray<[tag: string, fn: string]> = [
  ['Ref', 'Ref'],
  ['Condition', 'Condition'],
  ['Sub', 'Fn::Sub'],
  ['GetAtt', 'Fn::GetAtt'],
  ['Join', 'Fn::Join'],
  ['Split', 'Fn::Split'],
  ['Select', 'Fn::Select'],
  ['If', 'Fn::If'],
  ['Equals', 'Fn::Equals'],
  ['Not', 'Fn::Not'],
  ['And', 'Fn::And'],
  ['Or', 'Fn::Or'],
  ['FindInMap', 'Fn::FindInMap'],
  ['ImportValue', 'Fn::ImportValue'],
  ['GetAZs', 'Fn::GetAZs'],
  ['Base64', 'Fn::Base64'],
  ['Cidr', 'Fn::Cidr'],
  ['ToJsonString', 'Fn::ToJsonString'],
  ['Length', 'Fn::Length'],
];

const cfnTags: Tags = SHORT_FORMS.flatMap(([tag, fn]) =>
  (['scalar', 'seq', 'map'] as const).map((collection) => ({
    tag: `!${tag}`,
    ...(collection === 'scalar' ? {} : { collection }),
    resolve: (value: unknown) => {
      const plain = toPlain(value);
      // !GetAtt Logical.Attr is the scalar form of ['Logical', 'Attr'].
      if (fn === 'Fn::GetAtt' && typeof plain === 'string') {
        const dot = plain.indexOf('.');
        return { [fn]: [plain.slice(0, dot), plain.slice(dot + 1)] };
      }
      return { [fn]: plain };
    },
  })),
);

const toPlain = (value: unknown): unknown =>
  value !== null && typeof value === 'object' && 'toJSON' in value && typeof value.toJSON === 'function'
    ? value.toJSON()
    : value;

export const parseTemplate = (text: string): Template => {
  const doc = parse(text, { customTags: cfnTags, maxAliasCount: -1 }) as Template;
  if (doc === null || typeof doc !== 'object' || typeof doc.Resources !== 'object') {
    throw new Error('template has no Resources section');
  }
  return doc;
};

export const loadTemplate = (path: string): Template => parseTemplate(readFileSync(path, 'utf8'));
