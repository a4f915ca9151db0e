// The rank scheduler (docs/model.md §6), one test per rule, on hand-built rank states.
import { describe, expect, it } from 'vitest';
import { CoreState, RUNNING, WAITING } from '../../src/engine/core/state.ts';
import { newRankPlan, scheduleRank } from '../../src/engine/core/scheduler.ts';

/** One rank with B slots, budget M, block size 4 and `blocks` KV blocks. */
function rank(B: number, M: number, blocks: number): CoreState {
  return new CoreState(1, B, M, 4, blocks, 8);
}

function newRequest(st: CoreState, prompt: number, output = 100): number {
  const r = st.n++;
  st.grow(st.n);
  st.prompt[r] = prompt;
  st.output[r] = output;
  return r;
}

function waiting(st: CoreState, prompt: number): number {
  const r = newRequest(st, prompt);
  st.rankOf[r] = 0;
  st.status[r] = WAITING;
  st.pushWaitingTail(0, r);
  return r;
}

/**
 * A running request (admitted in call order) in decode: `generated` tokens emitted, all but the
 * last one's KV resident (computed = prompt + generated - 1), so it asks for 1 token.
 */
function running(st: CoreState, prompt: number, generated: number, computed = prompt + generated - 1): number {
  const r = newRequest(st, prompt);
  st.rankOf[r] = 0;
  st.status[r] = RUNNING;
  st.generated[r] = generated;
  st.computed[r] = computed;
  st.blocks[r] = Math.ceil(computed / st.BS);
  st.freeBlocks[0] -= st.blocks[r];
  st.run[st.nRun[0]++] = r;
  st.kvTok[0] += computed;
  st.admitUs[r] = 0;
  return r;
}

function runningIds(st: CoreState): number[] {
  return Array.from(st.run.subarray(0, st.nRun[0]));
}

function waitingIds(st: CoreState): number[] {
  const out: number[] = [];
  for (let r = st.wHead[0]; r >= 0; r = st.wNext[r]) out.push(r);
  return out;
}

describe('rank scheduler (docs/model.md §6)', () => {
  it('rule: running requests go first, in admission order, before any admission', () => {
    const st = rank(8, 3, 100);
    const a = running(st, 10, 1);
    const b = running(st, 10, 2);
    const c = running(st, 10, 3);
    const w = waiting(st, 5);
    const plan = newRankPlan();
    expect(scheduleRank(st, 0, 7, plan)).toBe(3);
    expect([st.sched[a], st.sched[b], st.sched[c], st.sched[w]]).toEqual([1, 1, 1, 0]);
    expect(plan.decodeSeqs).toBe(3);
    expect(waitingIds(st)).toEqual([w]); // budget used up by the running requests
  });

  it('rule: FCFS admission from the head of the waiting queue, recording the first admission time', () => {
    const st = rank(8, 100, 100);
    const a = waiting(st, 20);
    const b = waiting(st, 30);
    const plan = newRankPlan();
    expect(scheduleRank(st, 0, 42, plan)).toBe(50);
    expect(runningIds(st)).toEqual([a, b]);
    expect([st.admitUs[a], st.admitUs[b]]).toEqual([42, 42]);
    expect(plan.prefillTokens).toBe(50);
    expect(plan.prefillAttnPairs).toBe((20 * 21) / 2 + (30 * 31) / 2);
  });

  it('rule: chunked prefill — a request asks for all its unprocessed tokens, capped by the remaining budget', () => {
    const st = rank(8, 64, 100);
    const d = running(st, 10, 1); // decode: 1 token
    const p = waiting(st, 100);
    const plan = newRankPlan();
    expect(scheduleRank(st, 0, 0, plan)).toBe(64);
    expect(st.sched[d]).toBe(1);
    expect(st.sched[p]).toBe(63);
    // The KV blocks cover exactly the chunk: ceil(63 / 4) = 16.
    expect(st.blocks[p]).toBe(16);
  });

  it('rule: a step takes ceil((computed + chunk) / block_size) - held new blocks', () => {
    const st = rank(8, 100, 10);
    const r = running(st, 8, 1); // 8 computed = 2 blocks, full: needs a third
    const s = running(st, 5, 1); // 5 computed = 2 blocks, room for 3: needs none
    const plan = newRankPlan();
    scheduleRank(st, 0, 0, plan);
    expect(st.blocks[r]).toBe(3);
    expect(st.blocks[s]).toBe(2);
    expect(st.freeBlocks[0]).toBe(5);
    expect(st.freeBlocks[0] + st.blocks[r] + st.blocks[s]).toBe(10);
  });

  it('rule: when blocks run out, the most recently admitted running request is preempted (recompute, head of the queue)', () => {
    // 4 blocks; a holds 2 (8 tokens, full), b holds 1 (4, full), c holds 1 (4, full): all need one more.
    const st = rank(8, 100, 4);
    const a = running(st, 8, 1);
    const b = running(st, 4, 1);
    const c = running(st, 4, 1);
    const w = waiting(st, 2);
    const plan = newRankPlan();
    scheduleRank(st, 0, 0, plan);
    expect(st.preemptions).toBe(2); // c (latest) makes room for a; then b, the latest left, preempts itself
    expect(runningIds(st)).toEqual([a]);
    expect(waitingIds(st)).toEqual([b, c, w]);
    expect(st.computed[c]).toBe(0);
    expect(st.blocks[c]).toBe(0);
    expect(plan.preempted).toBe(true);
  });

  it('rule: a pass stops when the request being scheduled is itself preempted', () => {
    // a alone holds both blocks (8 tokens, full) and needs a third: the victim is a itself.
    const st = rank(8, 100, 2);
    const a = running(st, 8, 1);
    const w = waiting(st, 1);
    const plan = newRankPlan();
    expect(scheduleRank(st, 0, 0, plan)).toBe(0);
    expect(st.preemptions).toBe(1);
    expect(runningIds(st)).toEqual([]);
    expect(waitingIds(st)).toEqual([a, w]);
    expect(st.sched[w]).toBe(0);
  });

  it('rule: no admission in a step that preempted, even when a waiting request would fit', () => {
    const st = rank(8, 100, 5);
    running(st, 8, 1); // 2 blocks, full
    const b = running(st, 8, 1); // 2 blocks, full
    const w = waiting(st, 1); // would fit in the 1 free block
    // Both need a block: a takes the free one, b must preempt itself.
    const plan = newRankPlan();
    scheduleRank(st, 0, 0, plan);
    expect(plan.preempted).toBe(true);
    expect(waitingIds(st)).toEqual([b, w]);
    expect(st.freeBlocks[0]).toBe(2); // b's blocks freed, nothing admitted into them
  });

  it('rule: head-of-line blocking — a head that does not fit blocks the queue, no skipping', () => {
    const st = rank(8, 1000, 10);
    running(st, 20, 1); // 20 tokens = 5 blocks, full: takes a sixth, 4 left
    const big = waiting(st, 20); // needs 5 blocks, 4 free
    const small = waiting(st, 3); // needs 1 block
    const plan = newRankPlan();
    scheduleRank(st, 0, 0, plan);
    expect(waitingIds(st)).toEqual([big, small]);
    expect(st.sched[small]).toBe(0);
    expect(plan.preempted).toBe(false);
  });

  it('rule: admission stops at max_num_seqs running requests', () => {
    const st = rank(2, 1000, 100);
    running(st, 4, 1);
    const a = waiting(st, 4);
    // Slots, not budget or blocks, stop the second admission.
    const b = waiting(st, 4);
    scheduleRank(st, 0, 0, newRankPlan());
    expect(runningIds(st)).toHaveLength(2);
    expect(runningIds(st)[1]).toBe(a);
    expect(waitingIds(st)).toEqual([b]);
  });
});

/** One rank as above, with async scheduling on (docs/model.md §3). */
function asyncRank(B: number, M: number, blocks: number): CoreState {
  return new CoreState(1, B, M, 4, blocks, 8, true);
}

describe('rank scheduler with async scheduling (docs/model.md §3)', () => {
  it('rule 1: a request hidden from this pass blocks the queue like a head that does not fit (FCFS, no skipping), and is visible to the next pass', () => {
    const st = asyncRank(8, 100, 100);
    const a = waiting(st, 5);
    const b = waiting(st, 5);
    st.hiddenSeq[a] = st.schedSeq[0] + 1; // placed behind a busy step: hidden from the next pass
    const plan = newRankPlan();
    expect(scheduleRank(st, 0, 10, plan)).toBe(0);
    expect(waitingIds(st)).toEqual([a, b]);
    expect(plan.seqs).toBe(0);
    expect(scheduleRank(st, 0, 20, plan)).toBe(10);
    expect(runningIds(st)).toEqual([a, b]);
    expect(plan.seqs).toBe(2);
  });

  it('rule 1: scheduled_us is the decision time of the pass, never before queued_us; admit_us is the step start', () => {
    const st = asyncRank(8, 100, 100);
    const a = waiting(st, 5);
    const b = waiting(st, 5);
    st.queuedUs[a] = 50;
    st.queuedUs[b] = 120;
    st.decisionUs[0] = 100; // the step before started at 100
    scheduleRank(st, 0, 130, newRankPlan());
    expect([st.schedUs[a], st.schedUs[b]]).toEqual([100, 120]);
    expect([st.admitUs[a], st.admitUs[b]]).toEqual([130, 130]);
  });

  it('rule 2: blocks and the slot of a finished request stay held for the next pass and are free from the one after', () => {
    const st = asyncRank(2, 100, 6);
    const a = running(st, 8, 1, 8); // 2 blocks
    const b = running(st, 8, 1, 8); // 2 blocks
    const c = waiting(st, 8); // needs 2 blocks and a slot
    st.schedSeq[0] = 1; // a and b were scheduled in pass 1; a finishes at the end of its step
    st.removeRunning(0, a);
    st.releaseFinished(0, a);
    expect(st.pendingBlocks(0)).toBe(2);
    expect(st.pendSlots[0]).toBe(1);
    expect(st.usedBlocks(0)).toBe(4);
    const plan = newRankPlan();
    scheduleRank(st, 0, 10, plan); // pass 2, at the boundary where a finished: held
    expect(waitingIds(st)).toEqual([c]);
    expect(runningIds(st)).toEqual([b]);
    scheduleRank(st, 0, 20, plan); // pass 3: free
    expect(runningIds(st)).toEqual([b, c]);
    expect(st.pendSlots[0]).toBe(0);
    expect(st.pendingBlocks(0)).toBe(0);
  });

  it('rule 2: frees of two consecutive steps are released one pass apart', () => {
    const st = asyncRank(4, 100, 40);
    const a = running(st, 8, 1, 8);
    const b = running(st, 8, 1, 8);
    st.schedSeq[0] = 1;
    st.removeRunning(0, a);
    st.releaseFinished(0, a); // during pass 1's step
    scheduleRank(st, 0, 10, newRankPlan()); // pass 2 holds a's
    st.removeRunning(0, b);
    st.releaseFinished(0, b); // during pass 2's step
    expect(st.pendSlots[0]).toBe(2);
    scheduleRank(st, 0, 20, newRankPlan()); // pass 3 frees a's, holds b's
    expect(st.pendSlots[0]).toBe(1);
    expect(st.pendingBlocks(0)).toBe(3); // b grew to 9 tokens (3 blocks) in pass 2
    scheduleRank(st, 0, 30, newRankPlan()); // pass 4 frees b's
    expect(st.pendSlots[0]).toBe(0);
    expect(st.freeBlocks[0]).toBe(40);
  });

  it('rule 2: blocks freed by a preemption inside the pass are free at once', () => {
    const st = asyncRank(8, 100, 4);
    const a = running(st, 8, 1, 8); // 2 blocks, asks 1 more token: needs a third block at 9
    const b = running(st, 8, 1, 8); // 2 blocks
    // a needs a new block and none is free: b (the most recent) is preempted and a takes its block.
    scheduleRank(st, 0, 10, newRankPlan());
    expect(runningIds(st)).toEqual([a]);
    expect(waitingIds(st)).toEqual([b]);
    expect(st.pendingBlocks(0)).toBe(0);
    expect(st.blocks[a]).toBe(3);
  });

  it('without async scheduling a finished request frees its blocks and slot at once', () => {
    const st = rank(1, 100, 4);
    const a = running(st, 8, 1, 8);
    const c = waiting(st, 8);
    st.removeRunning(0, a);
    st.releaseFinished(0, a);
    expect(st.pendSlots[0]).toBe(0);
    scheduleRank(st, 0, 10, newRankPlan());
    expect(runningIds(st)).toEqual([c]);
  });
});
