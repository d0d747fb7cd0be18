import { randomUUID } from 'node:crypto';
import { AwsError, QueryMap, type RawResponse } from '../services/types.ts';

/**
 * awsQuery (SNS, CloudFormation): form-encoded requests with an `Action`, XML responses.
 *
 * Input decoding turns the flat form keys into the SDK's nested shapes:
 * `Tags.member.1.Key=k` → `{ Tags: [{ Key: 'k' }] }`, `Attributes.entry.1.key=a&Attributes.entry.1.value=b` →
 * `{ Attributes: { a: 'b' } }` (also `entry.N.Name/Value`, as SNS MessageAttributes use).
 */
export type QueryParams = { action: string; version?: string; input: Record<string, unknown> };

type Tree = { value?: string; children: Map<string, Tree> };

const newTree = (): Tree => ({ children: new Map() });

/** Strict percent-decoding: URLSearchParams silently keeps broken escapes, AWS rejects them. */
const decodeComponent = (text: string): string => {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new AwsError('ValidationError', `Malformed percent-encoding in request: ${text.slice(0, 40)}`);
  }
};

export const parseForm = (body: string): Array<[string, string]> => {
  const pairs: Array<[string, string]> = [];
  for (const part of body.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeComponent(part.slice(eq + 1));
    pairs.push([key, value]);
  }
  return pairs;
};

const convert = (tree: Tree, path: string): unknown => {
  if (tree.children.size === 0) return tree.value ?? '';
  if (tree.value !== undefined)
    throw new AwsError('ValidationError', `Parameter ${path} is both a value and a structure`);
  const keys = [...tree.children.keys()];
  if (keys.length === 1 && keys[0] === 'member') return toList(tree.children.get('member') as Tree, `${path}.member`);
  if (keys.length === 1 && keys[0] === 'entry') return toMap(tree.children.get('entry') as Tree, `${path}.entry`);
  const out: Record<string, unknown> = {};
  for (const [k, child] of tree.children) out[k] = convert(child, path ? `${path}.${k}` : k);
  return out;
};

const indexed = (tree: Tree, path: string): Array<[number, Tree]> => {
  const items: Array<[number, Tree]> = [];
  for (const [k, child] of tree.children) {
    if (!/^[1-9]\d{0,5}$/.test(k)) throw new AwsError('ValidationError', `Invalid list index "${k}" in ${path}`);
    items.push([Number(k), child]);
  }
  return items.sort((a, b) => a[0] - b[0]);
};

const toList = (tree: Tree, path: string): unknown[] =>
  indexed(tree, path).map(([i, child]) => convert(child, `${path}.${i}`));

const toMap = (tree: Tree, path: string): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [i, child] of indexed(tree, path)) {
    const keyNode = child.children.get('key') ?? child.children.get('Key') ?? child.children.get('Name');
    const valueNode = child.children.get('value') ?? child.children.get('Value');
    if (keyNode?.value === undefined) throw new AwsError('ValidationError', `Map entry ${path}.${i} has no key`);
    out[keyNode.value] = valueNode === undefined ? '' : convert(valueNode, `${path}.${i}.value`);
  }
  return out;
};

/** Decodes a query request (form body or query string) into its action and nested input. */
export const decodeQuery = (pairs: Array<[string, string]>): QueryParams => {
  const root = newTree();
  let action: string | undefined;
  let version: string | undefined;
  for (const [key, value] of pairs) {
    if (key === 'Action') {
      action = value;
      continue;
    }
    if (key === 'Version') {
      version = value;
      continue;
    }
    if (key.startsWith('X-Amz-')) continue; // presigned-URL signing parameters
    if (key === '' || key.split('.').some((p) => p === '')) {
      throw new AwsError('ValidationError', `Malformed parameter name "${key}"`);
    }
    let node = root;
    for (const part of key.split('.')) {
      let next = node.children.get(part);
      if (!next) {
        next = newTree();
        node.children.set(part, next);
      }
      node = next;
    }
    if (node.value !== undefined) throw new AwsError('ValidationError', `Parameter ${key} is given twice`);
    node.value = value;
  }
  if (action === undefined || action === '') throw new AwsError('MissingAction', 'Request has no Action parameter');
  const input = root.children.size === 0 ? {} : (convert(root, '') as Record<string, unknown>);
  return version === undefined ? { action, input } : { action, version, input };
};

export const xmlEscape = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );

const scalar = (value: unknown): string => {
  if (value instanceof Date) return value.toISOString();
  return xmlEscape(String(value));
};

/** Serializes a result value as awsQuery XML: structures as elements, arrays as `<member>`, QueryMap as entries. */
export const toXml = (value: unknown): string => {
  if (value === undefined || value === null) return '';
  if (value instanceof Date || typeof value !== 'object') return scalar(value);
  if (Array.isArray(value)) return value.map((v) => `<member>${toXml(v)}</member>`).join('');
  if (value instanceof QueryMap) {
    return Object.entries(value.entries)
      .map(([k, v]) => `<entry><key>${xmlEscape(k)}</key><value>${toXml(v)}</value></entry>`)
      .join('');
  }
  return Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `<${k}>${toXml(v)}</${k}>`)
    .join('');
};

export const queryResponse = (
  action: string,
  xmlns: string,
  result: unknown,
  requestId: string = randomUUID(),
): RawResponse => {
  const inner = result === undefined || result === null ? '' : `<${action}Result>${toXml(result)}</${action}Result>`;
  return {
    status: 200,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body:
      `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${xmlEscape(xmlns)}">${inner}` +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
  };
};

export const queryError = (error: AwsError, requestId: string = randomUUID()): RawResponse => ({
  status: error.status,
  headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
  body:
    '<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error>' +
    `<Type>${error.fault}</Type><Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message>` +
    `</Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
});
