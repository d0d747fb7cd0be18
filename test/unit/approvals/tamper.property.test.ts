import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { handleApprovalHttp } from '../../../functions/approval-api/http.ts';
import { pendingRecord } from './fakes.ts';
import { apiSetup, formFor, linkFor, postForm } from './helpers.ts';

const COMPONENTS = ['id', 'k', 'r', 'e', 's', 'n', 't'] as const;
const quorum2 = () =>
  pendingRecord({ route: { policy: { allow: [], quorum: 2, allowSelfApproval: false, rejectNeedsReason: false } } });

const mutate = (
  value: string,
  how: { kind: 'replace'; with: string } | { kind: 'flip'; at: number } | { kind: 'append'; with: string },
) => {
  if (how.kind === 'replace') return how.with;
  if (how.kind === 'append') return value + how.with;
  if (value.length === 0) return 'x';
  const i = how.at % value.length;
  const c = value[i] === 'A' ? 'B' : 'A';
  return value.slice(0, i) + c + value.slice(i + 1);
};

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), with: fc.string({ maxLength: 40 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), with: fc.string({ minLength: 1, maxLength: 5 }) }),
);

describe('signed links (property)', () => {
  it('tampering with any link or form component never records a vote', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...COMPONENTS),
        mutation,
        fc.constantFrom('approve', 'reject'),
        async (part, how, decision) => {
          const { deps, id, store, calls } = apiSetup(quorum2());
          const original: Record<string, string> = formFor(id, linkFor(id), decision, 'because');
          const form = { ...original };
          let targetId = id;
          if (part === 'id') targetId = mutate(id, how);
          else form[part] = mutate(original[part] ?? '', how);
          // Only real changes count as tampering.
          fc.pre(part === 'id' ? targetId !== id : form[part] !== original[part]);
          const res = await handleApprovalHttp(postForm(encodeURIComponent(targetId), form), deps);
          expect(res.statusCode).toBeGreaterThanOrEqual(400);
          expect(store.votes.size).toBe(0);
          expect(calls).toHaveLength(0);
          expect([...store.records.values()][0]?.approveCount).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('replaying a used nonce never records a vote', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.boolean(), async (replays, sameRecipient) => {
        const { deps, id, store } = apiSetup(quorum2());
        const form = formFor(id, linkFor(id), 'approve');
        expect((await handleApprovalHttp(postForm(id, form), deps)).statusCode).toBe(200);
        for (let i = 0; i < replays; i++) {
          const other = sameRecipient
            ? form
            : { ...formFor(id, linkFor(id, 'bo@example.com'), 'approve'), n: form.n, t: form.t };
          const res = await handleApprovalHttp(postForm(id, other), deps);
          expect([403, 409]).toContain(res.statusCode);
        }
        expect(store.votes.size).toBe(1);
        expect([...store.records.values()][0]?.approveCount).toBe(1);
      }),
      { numRuns: 50 },
    );
  });
});
