import { describe, expect, it } from 'vitest';
import { runApprovalLoad } from '../../bench/approval-load.ts';

/**
 * A scaled-down run of bench/approval-load.ts: real pipelines on a local cloud (child process), emailed links,
 * autocannon GETs, then racing approve/reject POSTs with double submits. Asserts the invariants the bench checks
 * and the counts behind them.
 */
describe('approval API under concurrent load', { timeout: 90_000 }, () => {
  it('decides each approval exactly once, answers the racers 409/410, and never 5xx', async () => {
    const seed = Number(process.env.APPROVAL_LOAD_SEED ?? Date.now() % 100_000);
    // A fixed count, not a time window: beside the other suites on two cores, one second can end before an answer.
    const options = { approvals: 3, connections: 8, seconds: 1, amount: 48, forms: 2, posts: 2, seed };
    const r = await runApprovalLoad(options);
    const context = `seed ${seed}: ${JSON.stringify(r.invariants.filter((i) => !i.ok))}`;

    expect(
      r.invariants.filter((i) => !i.ok),
      context,
    ).toEqual([]);
    const [gets, posts] = r.phases;
    const postsTotal = options.approvals * 2 * options.forms * options.posts;
    expect(gets?.requests, context).toBe(options.amount);
    expect(gets?.byStatus, context).toEqual({ '200': gets?.requests });
    expect(posts?.requests, context).toBe(postsTotal);
    expect(r.decisions.winners, context).toBe(options.approvals);
    expect(r.decisions.approved + r.decisions.rejected, context).toBe(options.approvals);
    expect(r.decisions.losers409 + r.decisions.losers410, context).toBe(postsTotal - options.approvals);
    expect(r.putApprovalResultCalls, context).toBe(options.approvals);
    expect(r.approvalApi?.errors, context).toBe(0);
    for (const p of r.phases) expect(p.socketErrors, `${p.name}, ${context}`).toBe(0);
  });
});
