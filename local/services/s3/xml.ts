import type { RawResponse } from '../types.ts';

/** S3's XML: SDK-shaped values serialized as S3 writes them. */
export const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** Serializes SDK-shaped output: arrays become repeated elements named after the field (S3's flattened lists). */
export const toXml = (name: string, value: unknown): string => {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((v) => toXml(name, v)).join('');
  if (typeof value === 'object') {
    const inner = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => toXml(k, v))
      .join('');
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${esc(String(value))}</${name}>`;
};

export const document = (root: string, body: Record<string, unknown>): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n${toXml(root, body).replace(`<${root}>`, `<${root} xmlns="${XMLNS}">`)}`;

export const xmlResponse = (root: string, body: Record<string, unknown>, status = 200): RawResponse => ({
  status,
  headers: { 'content-type': 'application/xml' },
  body: document(root, body),
});
