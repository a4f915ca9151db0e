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
 * With `noContext` (an ADP Balance hold, docs/model.md §3.2) only decode tokens are scheduled:
 * running requests with prefill left are skipped and nothing is admitted.
 *
 * Async scheduling (docs/model.md §3): a request hidden from this pass (it reached the rank
 * behind a busy step) blocks the queue like a head that does not fit, and the slots and blocks
 * of requests that finished in the last step stay held for this pass (CoreState.beginPass).
 *
 * It fills a reusable `RankPlan` (the step-time model's inputs) and `sched` for the requests it
 * scheduled — or, given `StepEffects`, applies the scheduled tokens at once (docs/model.md §7)
 * and records the first tokens and completions, which take effect at the step's end. No
 * allocation.
 */
import type { RankWork } from '../../model/stepTime.ts';
import type { DecodeSet } from './decodeSet.ts';
import { RUNNING, WAITING, type CoreState } from './state.ts';
import { COMPLETES, FIRST_TOKEN, addEffect, type StepEffects } from './stepEffects.ts';

/** One rank's plan for a step: the step-time inputs, its token count and whether it preempted. */
export interface RankPlan extends Required<RankWork> {
  tokens: number;
  /** Requests scheduled (decodes + prefill chunks): the host term's R_max is the max over ranks. */
  seqs: number;
  preempted: boolean;
  /** Output tokens emitted by the step (only counted when its effects are applied, `StepEffects`). */
  emitted: number;
}

export function newRankPlan(): RankPlan {
  return { decodeSeqs: 0, prefillTokens: 0, kvTokensRead: 0, prefillAttnPairs: 0, prefillKvTokens: 0, decodeKvMax: 0, tokens: 0, seqs: 0, preempted: false, emitted: 0 };
}

/** Preempt the most recently admitted running request of rank g (recompute semantics); returns it. */
export function preemptLast(st: CoreState, g: number, now: number): number {
  const r = st.run[g * st.RS + st.nRun[g] + st.holes[g] - 1];
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

/**
 * Schedule rank g for the step starting at `now`; returns the number of tokens scheduled.
 *
 * Hot at saturation (every running request, every step): the plan's sums are kept in locals and
 * written once, and a request's KV blocks are only recomputed when its tokens cross the blocks
 * it holds (`blocks * BS >= computed` always holds, so `need <= 0` otherwise). All sums are of
 * integers below 2^53, so the order of addition does not change them.
 */
// One function on purpose: the per-step hot path of both drivers. The running and waiting
// passes repeat the same accounting inline so that every accumulator stays a local.
export function scheduleRank(st: CoreState, g: number, now: number, plan: RankPlan, fx?: StepEffects, noContext = false, ds?: DecodeSet): number {
  const { prompt, generated, computed, blocks, sched, run, freeBlocks, nRun, BS } = st;
  const output = st.output;
  const seq = st.beginPass(g);
  // Applied effects (fx): token sums of the rank, written once at the end.
  let kvAdd = 0;
  let promptAdd = 0;
  let genAdd = 0;
  let budget = st.M;
  let decodeSeqs = 0;
  let prefillTokens = 0;
  let kvRead = 0;
  let attnPairs = 0;
  let prefillKv = 0;
  let decodeKvMax = 0;
  let tokens = 0;
  let seqs = 0;
  let preempted = false;
  const base = g * st.RS;
  // Physical end of the list (the event core leaves holes in its decoding prefix; none
  // otherwise); re-read after a preemption.
  let nr = nRun[g] + st.holes[g];
  let i = 0;
  // Event-driven core (decodeSet.ts, applied steps only): the rank's decoding prefix D from its
  // aggregates when its step is uniform — every member gets its token and the free blocks cover
  // its boundary crossings (so nothing is preempted before the walk passes D; an ADP hold
  // schedules decodes too) — otherwise the members are written out and walked one by one.
  if (ds !== undefined && fx !== undefined && nr > 0) {
    // Holes are removed in batches: at most B/2 left, so admissions stay within the 2B stride,
    // and never more than members (a short list stays short: light load).
    const h = st.holes[g];
    if (h > 0 && (h > st.B >> 1 || h > ds.nD[g])) ds.compact(st, g);
    const d = ds.nD[g];
    if (d > 0) {
      const nb = ds.blocksNeeded(g);
      if (d > budget || nb > freeBlocks[g]) {
        ds.fallback(st, g);
      } else {
        freeBlocks[g] -= nb;
        kvRead = ds.sumC[g];
        decodeSeqs = d;
        if (ds.trackMax) decodeKvMax = ds.maxContext(st, g);
        budget -= d;
        tokens = d;
        seqs = d;
        kvAdd = d;
        genAdd = d;
        ds.step(g, fx);
        ds.fastStep(g);
      }
    }
    i = ds.nD[g] + st.holes[g]; // 0 after a fallback
    nr = nRun[g] + st.holes[g];
  }
  while (i < nr && budget > 0) {
    const r = run[base + i];
    const c = computed[r];
    const gen = generated[r];
    const remaining = prompt[r] + gen - c;
    // ADP Balance hold (docs/model.md §3.2): context work waits, decodes go on.
    if (noContext && (gen === 0 || remaining !== 1)) {
      i++;
      continue;
    }
    const chunk = remaining < budget ? remaining : budget;
    if (c + chunk > blocks[r] * BS) {
      const need = Math.ceil((c + chunk) / BS) - blocks[r];
      let selfPreempted = false;
      while (need > freeBlocks[g]) {
        preempted = true;
        const victim = preemptLast(st, g, now);
        nr = nRun[g] + st.holes[g];
        if (victim === r) {
          selfPreempted = true;
          break;
        }
      }
      if (selfPreempted) break;
      freeBlocks[g] -= need;
      blocks[r] += need;
    }
    kvRead += c;
    const decode = chunk === 1 && gen > 0;
    if (decode) {
      decodeSeqs++;
      if (c > decodeKvMax) decodeKvMax = c;
    } else {
      prefillTokens += chunk;
      attnPairs += chunk * c + (chunk * (chunk + 1)) / 2;
      prefillKv += c;
    }
    if (fx === undefined) {
      sched[r] = chunk;
    } else {
      // EngineCore.finishRankStep's rule, applied now.
      kvAdd += chunk;
      if (!decode) promptAdd += chunk;
      computed[r] = c + chunk;
      if (c + chunk === prompt[r] + gen) {
        generated[r] = gen + 1;
        genAdd++;
        const kind = (gen === 0 ? FIRST_TOKEN : 0) | (gen + 1 >= output[r] ? COMPLETES : 0);
        if (kind !== 0) addEffect(fx, r, g, i, kind);
      }
    }
    budget -= chunk;
    tokens += chunk;
    seqs++;
    i++;
  }
  if (!preempted && !noContext) {
    const slots = st.B - st.pendSlots[g];
    while (st.nWaiting[g] > 0 && nRun[g] < slots && budget > 0) {
      const r = st.wHead[g];
      if (st.hiddenSeq[r] >= seq) break; // async: not seen by this pass yet; FCFS, no skipping
      const c = computed[r];
      const gen = generated[r];
      const remaining = prompt[r] + gen - c;
      const chunk = remaining < budget ? remaining : budget;
      const need = Math.ceil((c + chunk) / BS) - blocks[r];
      if (need > freeBlocks[g]) break; // FCFS: the head blocks the queue
      st.unlinkWaiting(g, r);
      const pos = nRun[g] + st.holes[g];
      run[base + pos] = r;
      nRun[g]++;
      st.status[r] = RUNNING;
      st.kvTok[g] += c;
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
      kvRead += c;
      const decode = chunk === 1 && gen > 0;
      if (decode) {
        decodeSeqs++;
        if (c > decodeKvMax) decodeKvMax = c;
      } else {
        prefillTokens += chunk;
        attnPairs += chunk * c + (chunk * (chunk + 1)) / 2;
        prefillKv += c;
      }
      if (fx === undefined) {
        sched[r] = chunk;
      } else {
        kvAdd += chunk;
        if (!decode) promptAdd += chunk;
        computed[r] = c + chunk;
        if (c + chunk === prompt[r] + gen) {
          generated[r] = gen + 1;
          genAdd++;
          const kind = (gen === 0 ? FIRST_TOKEN : 0) | (gen + 1 >= output[r] ? COMPLETES : 0);
          if (kind !== 0) addEffect(fx, r, g, pos, kind);
        }
      }
      budget -= chunk;
      tokens += chunk;
      seqs++;
    }
  }
  if (fx !== undefined) {
    // Requests behind the decoding prefix may join it.
    if (ds !== undefined && nRun[g] > ds.nD[g]) ds.extend(st, g);
    st.kvTok[g] += kvAdd;
    st.promptTokOf[g] += promptAdd;
    st.genTokOf[g] += genAdd;
  }
  plan.decodeSeqs = decodeSeqs;
  plan.prefillTokens = prefillTokens;
  plan.kvTokensRead = kvRead;
  plan.prefillAttnPairs = attnPairs;
  plan.prefillKvTokens = prefillKv;
  plan.decodeKvMax = decodeKvMax;
  plan.tokens = tokens;
  plan.seqs = seqs;
  plan.preempted = preempted;
  plan.emitted = genAdd;
  return tokens;
}
