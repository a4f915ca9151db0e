/**
 * The rank scheduler of docs/model.md §6 (vLLM v1 style), one rank, one step:
 *
 * 1. running requests first, in admission order, each asking for all its unprocessed tokens
 *    within the token budget (chunked prefill); when KV blocks run out the most recently admitted
 *    running request is preempted (recompute: blocks freed, back to the head of the waiting
 *    queue); if that is the request being scheduled, the pass stops;
 * 2. then, only if nothing was preempted this step, waiting requests FCFS while slots, budget
 *    and blocks allow; a head that does not fit blocks the queue (no skipping).
 *
 * Async scheduling (docs/model.md §3): a request hidden from this pass (it reached the rank
 * behind a busy step) blocks the queue like a head that does not fit, and the slots and blocks
 * of requests that finished in the last step stay held for this pass (CoreState.beginPass).
 *
 * It fills a reusable `RankPlan` (the step-time model's inputs) and `sched` for the requests it
 * scheduled. No allocation.
 */
import type { RankWork } from '../../model/stepTime.ts';
import { RUNNING, WAITING, type CoreState } from './state.ts';

/** One rank's plan for a step: the step-time inputs, its token count and whether it preempted. */
export interface RankPlan extends Required<RankWork> {
  tokens: number;
  /** Requests scheduled (decodes + prefill chunks): the host term's R_max is the max over ranks. */
  seqs: number;
  preempted: boolean;
}

export function newRankPlan(): RankPlan {
  return { decodeSeqs: 0, prefillTokens: 0, kvTokensRead: 0, prefillAttnPairs: 0, prefillKvTokens: 0, decodeKvMax: 0, tokens: 0, seqs: 0, preempted: false };
}

/** Preempt the most recently admitted running request of rank g (recompute semantics); returns it. */
export function preemptLast(st: CoreState, g: number, now: number): number {
  const r = st.run[g * st.B + st.nRun[g] - 1];
  st.nRun[g]--;
  st.kvTok[g] -= st.computed[r];
  st.releaseBlocks(g, r);
  st.computed[r] = 0;
  st.sched[r] = 0;
  st.status[r] = WAITING;
  st.pushWaitingHead(g, r);
  st.preemptions++;
  st.preemptionsOf[g]++;
  if (st.onPreempt) st.onPreempt(r, g, now);
  return r;
}

/** Schedule rank g for the step starting at `now`; returns the number of tokens scheduled. */
export function scheduleRank(st: CoreState, g: number, now: number, plan: RankPlan): number {
  const { prompt, generated, computed, blocks, sched, run, freeBlocks, BS } = st;
  const seq = st.beginPass(g);
  let budget = st.M;
  plan.decodeSeqs = 0;
  plan.prefillTokens = 0;
  plan.kvTokensRead = 0;
  plan.prefillAttnPairs = 0;
  plan.prefillKvTokens = 0;
  plan.decodeKvMax = 0;
  let tokens = 0;
  let seqs = 0;
  let preempted = false;
  const base = g * st.B;
  let i = 0;
  while (i < st.nRun[g] && budget > 0) {
    const r = run[base + i];
    const remaining = prompt[r] + generated[r] - computed[r];
    const chunk = remaining < budget ? remaining : budget;
    const need = Math.ceil((computed[r] + chunk) / BS) - blocks[r];
    let selfPreempted = false;
    while (need > freeBlocks[g]) {
      preempted = true;
      if (preemptLast(st, g, now) === r) {
        selfPreempted = true;
        break;
      }
    }
    if (selfPreempted) break;
    if (need > 0) {
      freeBlocks[g] -= need;
      blocks[r] += need;
    }
    sched[r] = chunk;
    account(plan, computed[r], generated[r], chunk);
    budget -= chunk;
    tokens += chunk;
    seqs++;
    i++;
  }
  if (!preempted) {
    const slots = st.B - st.pendSlots[g];
    while (st.nWaiting[g] > 0 && st.nRun[g] < slots && budget > 0) {
      const r = st.wHead[g];
      if (st.hiddenSeq[r] >= seq) break; // async: not seen by this pass yet; FCFS, no skipping
      const remaining = prompt[r] + generated[r] - computed[r];
      const chunk = remaining < budget ? remaining : budget;
      const need = Math.ceil((computed[r] + chunk) / BS) - blocks[r];
      if (need > freeBlocks[g]) break; // FCFS: the head blocks the queue
      st.unlinkWaiting(g, r);
      run[base + st.nRun[g]] = r;
      st.nRun[g]++;
      st.status[r] = RUNNING;
      st.kvTok[g] += computed[r];
      if (st.admitUs[r] < 0) {
        st.admitUs[r] = now;
        // The decision that schedules it: this boundary, or under async scheduling the start of
        // the step before (never before the request was queued).
        const d = st.decisionUs[g];
        st.schedUs[r] = d > st.queuedUs[r] ? d : st.queuedUs[r];
        if (st.onScheduled) st.onScheduled(r, g, st.schedUs[r]);
      }
      freeBlocks[g] -= need;
      blocks[r] += need;
      sched[r] = chunk;
      account(plan, computed[r], generated[r], chunk);
      budget -= chunk;
      tokens += chunk;
      seqs++;
    }
  }
  plan.tokens = tokens;
  plan.seqs = seqs;
  plan.preempted = preempted;
  return tokens;
}

/** Add a scheduled chunk to the plan: a decode (one token after the first output) or prefill. */
function account(plan: RankPlan, c: number, gen: number, chunk: number): void {
  plan.kvTokensRead += c;
  if (chunk === 1 && gen > 0) {
    plan.decodeSeqs++;
    if (c > plan.decodeKvMax) plan.decodeKvMax = c;
  } else {
    plan.prefillTokens += chunk;
    plan.prefillAttnPairs += chunk * c + (chunk * (chunk + 1)) / 2;
    plan.prefillKvTokens += c;
  }
}
