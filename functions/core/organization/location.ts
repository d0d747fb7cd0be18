import type { OrganizationSettings } from '../settings.ts';
import { NotAMemberAccountError } from './errors.ts';

/**
 * Where a resource lives: an account and a region. The hub acts with its own credentials only in its own account
 * and region ("home"); anywhere else it assumes the member role (member.yaml) of an account its settings list, in
 * the resource's region. Pure: the adapters (adapters/member-sessions.ts) turn a location into clients.
 */
export type Location = { accountId: string; region: string };

/** How the hub reaches a location: with its own credentials, through a member account's role, or not at all. */
export type Access = { kind: 'home' } | { kind: 'member'; roleName: string; externalId: string };

const ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:([a-z0-9-]*):(\d{12}):/;

/** The account and region an ARN names (a stack, a topic, a pipeline); undefined for a global or malformed ARN. */
export const locationOfArn = (arn: string): Location | undefined => {
  const m = ARN.exec(arn);
  if (!m?.[1]) return undefined;
  return { accountId: m[2] as string, region: m[1] };
};

export const sameLocation = (a: Location, b: Location): boolean => a.accountId === b.accountId && a.region === b.region;

export const describeLocation = (l: Location): string => `${l.accountId}/${l.region}`;

/**
 * Whether and how the hub may act in a location: home (its own account and region), a listed member account (any
 * region, through the member role), or refused with NotAMemberAccountError. The hub's own account in another region
 * goes through the member role as well (the hub's own policies are scoped to its region), so it must be listed.
 */
export const accessTo = (where: Location, home: Location, org: OrganizationSettings): Access => {
  if (sameLocation(where, home)) return { kind: 'home' };
  if (!org.accounts.includes(where.accountId)) throw new NotAMemberAccountError(where.accountId);
  return { kind: 'member', roleName: org.roleName, externalId: org.externalId };
};

/** Whether the hub may act in the location (no error): the domain's check before any call. */
export const mayActIn = (where: Location, home: Location, org: Pick<OrganizationSettings, 'accounts'>): boolean =>
  sameLocation(where, home) || org.accounts.includes(where.accountId);

/** The partition of a region (`aws`, `aws-cn`, `aws-us-gov`), for the ARNs the hub builds. */
export const partitionOf = (region: string): string =>
  region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

export const memberRoleArn = (accountId: string, region: string, roleName: string): string =>
  `arn:${partitionOf(region)}:iam::${accountId}:role/${roleName}`;

/** STS's alphabet for session names and source identities: `[\w+=,.@-]`, 2 to 64 characters. */
const sanitize = (text: string): string => text.replace(/[^\w+=,.@-]/g, '-');

/**
 * The session name an assumed-role session carries into the member account's CloudTrail: what Stagecrew is doing
 * (`stagecrew-teardown`, `stagecrew-sweep`, `stagecrew-approval`) and, for a decision, who decided.
 */
export const sessionName = (purpose: string, who?: string): string => {
  const base = sanitize(`stagecrew-${purpose}${who ? `-${who}` : ''}`).slice(0, 64);
  return base.length >= 2 ? base : `${base}--`.slice(0, 2);
};

/** An approver as an STS source identity (kept on every call of the session, and on sessions chained from it). */
export const sourceIdentity = (approver: string): string | undefined => {
  const s = sanitize(approver).slice(0, 64);
  return s.length >= 2 ? s : undefined;
};

/**
 * The locations the sweeper looks in: the hub's own account and region first, then every member account in every
 * configured region (none configured: the hub's own region), each once. Other regions of the hub's own account only
 * when that account is listed as a member too (the hub reaches them through the member role).
 */
export const sweepLocations = (home: Location, org: Pick<OrganizationSettings, 'accounts' | 'regions'>): Location[] => {
  const regions = [...new Set(org.regions.length > 0 ? org.regions : [home.region])];
  const out: Location[] = [home];
  for (const accountId of [...new Set(org.accounts)]) {
    for (const region of regions) {
      const where = { accountId, region };
      if (!sameLocation(where, home)) out.push(where);
    }
  }
  return out;
};

/**
 * A gateway where a resource lives: the function's own at home (or when the resource names no account: records
 * written before accounts were recorded, single-account setups), else the member one, which refuses an account the
 * settings do not list.
 */
export const gatewayAt = async <G>(
  where: { accountId?: string | undefined; region: string },
  deps: { home?: Location | undefined; own: G; elsewhere?: ((where: Location) => Promise<G>) | undefined },
): Promise<G> => {
  if (!where.accountId || !deps.home) return deps.own;
  const location = { accountId: where.accountId, region: where.region };
  if (sameLocation(location, deps.home)) return deps.own;
  if (!deps.elsewhere) throw new NotAMemberAccountError(where.accountId);
  return deps.elsewhere(location);
};
