/**
 * A role's trust policy, evaluated for `sts:AssumeRole` (and `sts:SetSourceIdentity` when the caller sets one) the way IAM does on the role's side: an explicit Deny wins,
 * else some Allow statement must name the action, the caller as principal, and have every condition met. Principals:
 * `"*"`, an account id, an account root ARN (any principal of that account) or a principal ARN. Condition operators:
 * StringEquals, StringNotEquals, StringLike, ArnEquals, ArnLike, ArnNotLike (with `IfExists`), on `sts:ExternalId`,
 * `sts:SourceIdentity`, `aws:PrincipalArn` and `aws:PrincipalAccount`. Anything else does not match (fail closed).
 */
export type TrustRequest = {
  principalArn: string;
  principalAccount: string;
  externalId?: string;
  sourceIdentity?: string;
};

type Statement = {
  Effect?: unknown;
  Principal?: unknown;
  Action?: unknown;
  Condition?: unknown;
};

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** IAM's wildcard match: `*` any run of characters, `?` one character; case-sensitive. */
const like = (pattern: string, value: string): boolean => {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(value);
};

const actionMatches = (action: unknown, wanted: string): boolean =>
  list(action).some((a) => typeof a === 'string' && like(a.toLowerCase(), wanted));

const principalMatches = (principal: unknown, r: TrustRequest): boolean => {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null) return false;
  return list((principal as { AWS?: unknown }).AWS).some((p) => {
    if (typeof p !== 'string') return false;
    if (p === '*') return true;
    if (/^\d{12}$/.test(p)) return p === r.principalAccount;
    const root = /^arn:aws:iam::(\d{12}):root$/.exec(p);
    if (root) return root[1] === r.principalAccount;
    return p === r.principalArn;
  });
};

const keyValue = (key: string, r: TrustRequest): string | undefined => {
  switch (key.toLowerCase()) {
    case 'sts:externalid':
      return r.externalId;
    case 'sts:sourceidentity':
      return r.sourceIdentity;
    case 'aws:principalarn':
      return r.principalArn;
    case 'aws:principalaccount':
      return r.principalAccount;
    default:
      return undefined;
  }
};

const KNOWN_KEYS = new Set(['sts:externalid', 'sts:sourceidentity', 'aws:principalarn', 'aws:principalaccount']);

const conditionsMet = (condition: unknown, r: TrustRequest): boolean => {
  if (condition === undefined) return true;
  if (typeof condition !== 'object' || condition === null) return false;
  return Object.entries(condition as Record<string, unknown>).every(([rawOperator, block]) => {
    if (typeof block !== 'object' || block === null) return false;
    const ifExists = rawOperator.endsWith('IfExists');
    const operator = ifExists ? rawOperator.slice(0, -'IfExists'.length) : rawOperator;
    return Object.entries(block as Record<string, unknown>).every(([key, expected]) => {
      if (!KNOWN_KEYS.has(key.toLowerCase())) return false;
      const value = keyValue(key, r);
      if (value === undefined) return ifExists || operator.includes('Not');
      const values = list(expected).filter((v): v is string => typeof v === 'string');
      switch (operator) {
        case 'StringEquals':
        case 'ArnEquals':
          return values.includes(value);
        case 'StringNotEquals':
        case 'ArnNotEquals':
          return !values.includes(value);
        case 'StringLike':
        case 'ArnLike':
          return values.some((v) => like(v, value));
        case 'StringNotLike':
        case 'ArnNotLike':
          return !values.some((v) => like(v, value));
        default:
          return false;
      }
    });
  });
};

/** Whether the trust policy allows the request; `action` is `sts:assumerole` or `sts:setsourceidentity`. */
export const evaluateTrust = (document: unknown, r: TrustRequest, action = 'sts:assumerole'): boolean => {
  const statements = list((document as { Statement?: unknown } | null)?.Statement) as Statement[];
  const applies = (s: Statement) =>
    actionMatches(s.Action, action) && principalMatches(s.Principal, r) && conditionsMet(s.Condition, r);
  if (statements.some((s) => s.Effect === 'Deny' && applies(s))) return false;
  return statements.some((s) => s.Effect === 'Allow' && applies(s));
};
