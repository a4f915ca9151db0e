/**
 * CPU reference engine: simulates one configuration of DESIGN.md §3 exactly as docs/model.md
 * specifies. This is the oracle every other engine is compared against, so clarity wins over
 * cleverness — but it is data-oriented (typed arrays, structure of arrays, nothing allocated
 * per step) because sweeps run it millions of times.
 */
import type { Scenario } from '../../config/scenario.ts';
import { InputError } from '../../errors.ts';
import type { RunMetrics, TimeSeries } from '../../metrics/types.ts';
import { LatencyHistograms, newCounters, summarize } from '../../metrics/summary.ts';
import { getRouter } from '../../routers/index.ts';
import { createProjector, projectionSizes } from '../../routers/projections.ts';
import { HOLD, ROUTER_STATE_WORDS, type RouterView } from '../../routers/types.ts';
import type { StepModel } from '../../model/types.ts';
import { allToAllUs, psToUs, rankBasePs, rankStepPs, rankStepUs, stepModelForDp, worstCaseStepPs, type RankWork } from '../../model/stepTime.ts';
import type { Workload } from '../../workload/types.ts';

// Request status codes.
const FUTURE = 0; // not arrived yet
const QUEUED = 1; // arrived, in the router's global queue (per_step dispatch)
const WAITING = 2; // on a rank's waiting queue
const RUNNING = 3; // admitted on a rank
const DONE = 4;
const FAILED = 5;

/** Per-request outcome, for tests and Gantt views (`simulate(..., { detail: true })`). */
export interface RequestDetail {
  /** 4 = completed, 5 = failed. */
  status: Uint8Array;
  rank: Int32Array;
  admitUs: Float64Array;
  firstTokenUs: Float64Array;
  endUs: Float64Array;
}

export const REQUEST_COMPLETED = DONE;
export const REQUEST_FAILED = FAILED;

export interface SimulationOutput {
  metrics: RunMetrics;
  timeseries?: TimeSeries;
  requests?: RequestDetail;
}

/** Histograms reused across runs on one thread (they are large and reset cheaply). */
const hist = new LatencyHistograms();

export function simulate(sc: Scenario, wl: Workload, model: StepModel, opts: { detail?: boolean } = {}): SimulationOutput {
  const t0 = performance.now();
  const G = sc.dp;
  model = stepModelForDp(model, G); // the model's terms for this DP size (calibrated models)
  const B = sc.maxNumSeqs;
  const M = sc.maxBatchedTokens;
  const BS = sc.blockSize;
  const totalBlocks = Math.floor(sc.kvCapacity / BS);
  const capacityTokens = totalBlocks * BS;
  const fitLimit = Math.min(capacityTokens, sc.maxModelLen);
  const timeoutUs = Math.round(sc.timeoutS * 1e6);
  const statsUs = Math.round(sc.statsIntervalMs * 1000);
  const perStep = sc.dispatch === 'per_step';
  const lpt = sc.assignOrder === 'lpt';
  if (worstCaseStepPs(model, B, M, sc.maxModelLen) >= 2 ** 53) {
    throw new InputError('model', model.name, 'step-time coefficients too large for exact integer arithmetic at these limits');
  }
  const basePs = rankBasePs(model, G);

  const router = getRouter(sc.router);
  const params = sc.routerParams;
  const rstate = new Uint32Array(ROUTER_STATE_WORDS);
  router.init(rstate, sc.workload.seed, G);
  const horizon = router.horizon(params, wl.outputSurvival);
  const H = horizon.length;
  // Projected loads for horizon routers: survival-weighted or binary-cutoff (routers/projections.ts).
  const projSpec = router.projection(params);
  const projector = createProjector(projSpec, horizon, wl.outputSurvival, sc.workload.seed);
  const projSize = projectionSizes(projSpec, H, G);

  const n = wl.n;
  const arrival = wl.arrivalUs;
  const prompt = wl.prompt;
  const output = wl.output;

  // Per-request state (structure of arrays).
  const status = new Uint8Array(n);
  const rankOf = new Int32Array(n).fill(-1);
  const computed = new Int32Array(n); // tokens whose KV is resident
  const generated = new Int32Array(n); // output tokens emitted
  const blocks = new Int32Array(n); // KV blocks held
  const sched = new Int32Array(n); // tokens scheduled in the current step
  const firstUs = new Float64Array(n).fill(-1);
  const admitUs = new Float64Array(n).fill(-1);
  const endUs = new Float64Array(n).fill(-1);
  const wNext = new Int32Array(n).fill(-1); // waiting-queue links
  const wPrev = new Int32Array(n).fill(-1);
  const gq = new Int32Array(n); // global queue (per_step)
  let gqHead = 0;
  let gqTail = 0;

  // Per-rank state.
  const wHead = new Int32Array(G).fill(-1);
  const wTail = new Int32Array(G).fill(-1);
  const nWaiting = new Int32Array(G);
  const run = new Int32Array(G * B); // running requests in admission order
  const nRun = new Int32Array(G);
  const freeBlocks = new Int32Array(G).fill(totalBlocks);
  const kvTok = new Float64Array(G); // sum of `computed` over running requests
  const queuedTok = new Float64Array(G); // tokens still to prefill of waiting requests
  const inflight = new Float64Array(G);
  const rankUs = new Float64Array(G);
  const rankTokens = new Float64Array(G);
  // Per-rank decode aggregates of the current step, for fast-forwarding decode-only stretches.
  const decodeSeqsOf = new Float64Array(G);
  const kvReadOf = new Float64Array(G);
  const decodeKvMaxOf = new Float64Array(G); // longest decode context per rank (skew term)
  const loadScratch = new Float64Array(G);
  const ffBase = new Float64Array(G); // step ps of rank g in a decode-only stretch: ffBase + j * ffSlope
  const ffSlope = new Float64Array(G);
  const ffActive = new Int32Array(G); // ranks with decode work in the stretch
  let decodeOnly = true; // every scheduled token this step is a decode token, no preemption

  // Router view (snapshot + optimistic bookkeeping).
  const view: RouterView = {
    G,
    waiting: new Float64Array(G),
    running: new Float64Array(G),
    kvTokens: new Float64Array(G),
    queuedTokens: new Float64Array(G),
    kvUsage: new Float64Array(G),
    inflight,
    kvCapacity: capacityTokens,
    horizonSteps: Float64Array.from(horizon),
    projMean: new Float64Array(projSize.mean),
    projVar: new Float64Array(projSize.mean),
    projCut: new Float64Array(projSize.cut),
    outputSurvival: wl.outputSurvival,
  };
  const req = { prompt: 0, waitedUs: 0, canHold: false };
  let nextSnapUs = -1; // refresh at the first decision
  let snapDirty = true; // state changed since the last snapshot (only matters when statsUs == 0)

  const work: Required<RankWork> = { decodeSeqs: 0, prefillTokens: 0, kvTokensRead: 0, prefillAttnPairs: 0, prefillKvTokens: 0, decodeKvMax: 0 };

  // Metrics accumulators.
  hist.reset();
  let completed = 0;
  let failedRejected = 0;
  let failedTimeout = 0;
  let preemptions = 0;
  let outputTokens = 0;
  let steps = 0;
  let busyUs = 0;
  let imbAcc = 0;
  let balAcc = 0;
  let loadWeight = 0;
  let sumRankUs = 0;
  let sumMaxRankUs = 0;
  let inSystem = 0;
  let inSystemArea = 0;
  let lastEventUs = 0;

  const ts = sc.timeseries ? newSeriesBuilder() : undefined;

  // ---- helpers (closures over the typed arrays; no allocation) ----

  function pushWaitingTail(g: number, r: number): void {
    wPrev[r] = wTail[g];
    wNext[r] = -1;
    if (wTail[g] >= 0) wNext[wTail[g]] = r;
    else wHead[g] = r;
    wTail[g] = r;
    nWaiting[g]++;
    queuedTok[g] += prompt[r] + generated[r] - computed[r];
  }

  function pushWaitingHead(g: number, r: number): void {
    wNext[r] = wHead[g];
    wPrev[r] = -1;
    if (wHead[g] >= 0) wPrev[wHead[g]] = r;
    else wTail[g] = r;
    wHead[g] = r;
    nWaiting[g]++;
    queuedTok[g] += prompt[r] + generated[r] - computed[r];
  }

  function unlinkWaiting(g: number, r: number): void {
    const p = wPrev[r];
    const q = wNext[r];
    if (p >= 0) wNext[p] = q;
    else wHead[g] = q;
    if (q >= 0) wPrev[q] = p;
    else wTail[g] = p;
    wNext[r] = wPrev[r] = -1;
    nWaiting[g]--;
    queuedTok[g] -= prompt[r] + generated[r] - computed[r];
  }

  function releaseBlocks(g: number, r: number): void {
    freeBlocks[g] += blocks[r];
    blocks[r] = 0;
  }

  /** Remove the running request at position i of rank g (order of the rest is kept). */
  function removeRunningAt(g: number, i: number): void {
    const base = g * B;
    const last = base + nRun[g] - 1;
    for (let k = base + i; k < last; k++) run[k] = run[k + 1];
    nRun[g]--;
  }

  /** Preempt the most recently admitted running request of rank g (recompute semantics). */
  function preemptLast(g: number): number {
    const r = run[g * B + nRun[g] - 1];
    nRun[g]--;
    kvTok[g] -= computed[r];
    releaseBlocks(g, r);
    computed[r] = 0;
    sched[r] = 0;
    status[r] = WAITING;
    pushWaitingHead(g, r);
    preemptions++;
    return r;
  }

  function refreshSnapshot(): void {
    for (let g = 0; g < G; g++) {
      view.waiting[g] = nWaiting[g];
      view.running[g] = nRun[g];
      view.kvTokens[g] = kvTok[g];
      view.queuedTokens[g] = queuedTok[g];
      view.kvUsage[g] = totalBlocks > 0 ? (totalBlocks - freeBlocks[g]) / totalBlocks : 0;
    }
    if (H > 0) {
      projector.clear(view);
      for (let g = 0; g < G; g++) {
        for (let i = 0; i < nRun[g]; i++) addProjection(g, run[g * B + i], computed[run[g * B + i]]);
        for (let r = wHead[g]; r >= 0; r = wNext[r]) addProjection(g, r, prompt[r] + generated[r]);
      }
    }
    snapDirty = false;
  }

  /** Add request r (current KV load w, age = generated tokens) to rank g's projected load. */
  function addProjection(g: number, r: number, w: number): void {
    projector.add(view, g, r, w, generated[r], output[r] - generated[r]);
  }

  /**
   * Route request r at time t: choose a rank, enqueue it there, apply bookkeeping. Returns false
   * when the router holds it in the global queue (per_step dispatch only).
   */
  function dispatch(r: number, t: number, canHold: boolean): boolean {
    if (statsUs === 0 ? snapDirty : t >= nextSnapUs) {
      refreshSnapshot();
      nextSnapUs = t + statsUs;
    }
    req.prompt = prompt[r];
    req.waitedUs = t - arrival[r];
    req.canHold = canHold;
    const g = router.route(view, req, params, rstate);
    if (g === HOLD && canHold) return false;
    if (!(g >= 0 && g < G && Number.isInteger(g))) {
      throw new Error(`router ${sc.router} returned rank ${g} (G=${G})`);
    }
    rankOf[r] = g;
    status[r] = WAITING;
    pushWaitingTail(g, r);
    inflight[g] += 1;
    // Optimistic bookkeeping: the router's copy sees exactly what the request adds.
    view.waiting[g] += 1;
    view.queuedTokens[g] += prompt[r];
    if (H > 0) addProjection(g, r, prompt[r]);
    return true;
  }

  function fail(r: number, t: number, reason: number): void {
    status[r] = FAILED;
    endUs[r] = t;
    if (reason === 0) failedRejected++;
    else failedTimeout++;
    if (t > lastEventUs) lastEventUs = t;
  }

  /** Abort request r at time t (client timeout), wherever it is. */
  function abort(r: number, t: number): void {
    const g = rankOf[r];
    if (status[r] === WAITING) {
      unlinkWaiting(g, r);
    } else if (status[r] === RUNNING) {
      const base = g * B;
      for (let i = 0; i < nRun[g]; i++) {
        if (run[base + i] === r) {
          removeRunningAt(g, i);
          break;
        }
      }
      kvTok[g] -= computed[r];
      releaseBlocks(g, r);
    }
    if (g >= 0) inflight[g] -= 1;
    inSystem--;
    fail(r, t, 1);
    snapDirty = true;
  }

  /**
   * vLLM-v1-style scheduling of rank g for one step: running requests first (in admission
   * order), each asking for all its unprocessed tokens within the token budget; preempt the
   * most recent admission when KV blocks run out; then admit waiting requests FCFS while
   * slots, budget and blocks allow (none when this step preempted). Fills `work` and `sched`.
   */
  function scheduleRank(g: number, now: number): number {
    let budget = M;
    work.decodeSeqs = 0;
    work.prefillTokens = 0;
    work.kvTokensRead = 0;
    work.prefillAttnPairs = 0;
    work.prefillKvTokens = 0;
    work.decodeKvMax = 0;
    let tokens = 0;
    let preempted = false;
    const base = g * B;
    let i = 0;
    while (i < nRun[g] && budget > 0) {
      const r = run[base + i];
      const remaining = prompt[r] + generated[r] - computed[r];
      const chunk = remaining < budget ? remaining : budget;
      const need = Math.ceil((computed[r] + chunk) / BS) - blocks[r];
      let selfPreempted = false;
      while (need > freeBlocks[g]) {
        preempted = true;
        if (preemptLast(g) === r) {
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
      account(r, chunk);
      budget -= chunk;
      tokens += chunk;
      i++;
    }
    if (!preempted) {
      while (nWaiting[g] > 0 && nRun[g] < B && budget > 0) {
        const r = wHead[g];
        const remaining = prompt[r] + generated[r] - computed[r];
        const chunk = remaining < budget ? remaining : budget;
        const need = Math.ceil((computed[r] + chunk) / BS) - blocks[r];
        if (need > freeBlocks[g]) break; // FCFS: the head blocks the queue
        unlinkWaiting(g, r);
        run[base + nRun[g]] = r;
        nRun[g]++;
        status[r] = RUNNING;
        kvTok[g] += computed[r];
        if (admitUs[r] < 0) admitUs[r] = now;
        freeBlocks[g] -= need;
        blocks[r] += need;
        sched[r] = chunk;
        account(r, chunk);
        budget -= chunk;
        tokens += chunk;
      }
    }
    rankTokens[g] = tokens;
    decodeSeqsOf[g] = work.decodeSeqs;
    kvReadOf[g] = work.kvTokensRead;
    decodeKvMaxOf[g] = work.decodeKvMax;
    if (preempted || work.prefillTokens > 0 || work.decodeSeqs !== nRun[g]) decodeOnly = false;
    return tokens;
  }

  function account(r: number, chunk: number): void {
    const c = computed[r];
    work.kvTokensRead += c;
    if (chunk === 1 && generated[r] > 0) {
      work.decodeSeqs++;
      if (c > work.decodeKvMax) work.decodeKvMax = c;
    } else {
      work.prefillTokens += chunk;
      work.prefillAttnPairs += chunk * c + (chunk * (chunk + 1)) / 2;
      work.prefillKvTokens += c;
    }
  }

  /** Apply the effects of the step that ends at time t on rank g. */
  function finishStep(g: number, t: number): void {
    const base = g * B;
    let i = 0;
    while (i < nRun[g]) {
      const r = run[base + i];
      const s = sched[r];
      if (s === 0) {
        i++;
        continue;
      }
      sched[r] = 0;
      computed[r] += s;
      kvTok[g] += s;
      if (computed[r] === prompt[r] + generated[r]) {
        generated[r]++;
        if (generated[r] === 1) firstUs[r] = t;
        if (generated[r] >= output[r]) {
          complete(r, g, t);
          removeRunningAt(g, i);
          continue;
        }
      }
      i++;
    }
  }

  function complete(r: number, g: number, t: number): void {
    status[r] = DONE;
    endUs[r] = t;
    kvTok[g] -= computed[r];
    releaseBlocks(g, r);
    inflight[g] -= 1;
    inSystem--;
    completed++;
    outputTokens += output[r];
    if (t > lastEventUs) lastEventUs = t;
    hist.recordCompleted(arrival[r], admitUs[r], firstUs[r], t, output[r]);
  }

  /**
   * How many steps, starting with the one just scheduled, can run with nothing but decode
   * tokens and no completion at their end, no preemption, and no new admission possible.
   * (Arrivals and timeouts are checked step by step in fastForward.)
   */
  function eventFreeSteps(): number {
    let k = Infinity;
    for (let g = 0; g < G; g++) {
      const base = g * B;
      for (let i = 0; i < nRun[g]; i++) {
        const r = run[base + i];
        const left = output[r] - generated[r] - 1;
        if (left < k) k = left;
      }
    }
    if (!(k >= 2) || k === Infinity) return 0;
    // KV blocks: the rank must be able to grow every request by k tokens; otherwise only as
    // far as no request needs a new block.
    for (let g = 0; g < G; g++) {
      const base = g * B;
      let extra = 0;
      let noAlloc = Infinity;
      for (let i = 0; i < nRun[g]; i++) {
        const r = run[base + i];
        extra += Math.ceil((computed[r] + k) / BS) - blocks[r];
        const room = BS * blocks[r] - computed[r];
        if (room < noAlloc) noAlloc = room;
      }
      if (extra > freeBlocks[g] && noAlloc < k) k = noAlloc;
    }
    return k;
  }

  /**
   * Advance up to k decode-only steps from time t0, the first of which is already scheduled:
   * per step only per-rank sums change (each running request adds one KV token), so step times
   * and metrics come from per-rank aggregates. Stops early at the first step boundary at or after
   * an arrival or a timeout deadline. Returns the new time.
   */
  function fastForward(k: number, t0: number, a2aUs: number): number {
    // A rank's step time in picoseconds is affine in the step index j here (only kv_read grows,
    // by its decode count per step): precompute base and slope once, after checking that the
    // model really is affine (a model with non-linear terms takes the general path per step).
    let nActive = 0;
    let affine = true;
    for (let g = 0; g < G; g++) {
      const d = decodeSeqsOf[g];
      if (d === 0) continue;
      const p0 = decodePs(g, 0);
      const p1 = decodePs(g, 1);
      if (decodePs(g, 2) !== 2 * p1 - p0) affine = false;
      ffBase[g] = p0;
      ffSlope[g] = p1 - p0;
      ffActive[nActive++] = g;
    }
    if (ts) rankUs.fill(0);
    let t = t0;
    let j = 0;
    while (j < k) {
      let maxUs = 0;
      let sumUs = 0;
      let maxLoad = 0;
      let sumLoad = 0;
      for (let i = 0; i < nActive; i++) {
        const g = ffActive[i];
        const us = psToUs(affine ? ffBase[g] + j * ffSlope[g] : decodePs(g, j));
        if (ts) rankUs[g] = us;
        sumUs += us;
        if (us > maxUs) maxUs = us;
        // Idle ranks hold no running request: their load is 0, so only active ranks count.
        const l = kvTok[g] + (j + 1) * decodeSeqsOf[g];
        sumLoad += l;
        if (l > maxLoad) maxLoad = l;
      }
      const stepUs = Math.max(1, maxUs + a2aUs);
      recordStep(stepUs, maxUs, sumUs, maxLoad, sumLoad, inSystem);
      if (ts) {
        for (let g = 0; g < G; g++) loadScratch[g] = kvTok[g] + (j + 1) * decodeSeqsOf[g];
        ts.add(steps - 1, t, stepUs, G, loadScratch, nRun, nWaiting, rankUs);
      }
      t += stepUs;
      j++;
      if (nextArr < n && arrival[nextArr] <= t) break;
      if (timeoutUs > 0 && timeoutPtr < nextArr && arrival[timeoutPtr] + timeoutUs <= t) break;
    }
    return applyDecodeSteps(j, t);
  }

  /** Picoseconds of rank g's j-th step in a decode-only stretch. */
  function decodePs(g: number, j: number): number {
    const d = decodeSeqsOf[g];
    work.decodeSeqs = d;
    work.prefillTokens = 0;
    work.prefillAttnPairs = 0;
    work.prefillKvTokens = 0;
    work.decodeKvMax = decodeKvMaxOf[g] + j;
    work.kvTokensRead = kvReadOf[g] + j * d;
    return rankStepPs(model, basePs, work);
  }

  /** Account one group step in the run's counters (the load terms use KV after the step). */
  function recordStep(stepUs: number, maxUs: number, sumUs: number, maxLoad: number, sumLoad: number, inSys: number): void {
    steps++;
    busyUs += stepUs;
    sumRankUs += sumUs;
    sumMaxRankUs += maxUs * G;
    inSystemArea += inSys * stepUs;
    if (maxLoad > 0) {
      const mean = sumLoad / G;
      imbAcc += (stepUs * (maxLoad - mean)) / mean;
      balAcc += (stepUs * mean) / maxLoad;
      loadWeight += stepUs;
    }
  }

  /** Apply j decode steps to every running request; returns t. */
  function applyDecodeSteps(j: number, t: number): number {
    for (let g = 0; g < G; g++) {
      const base = g * B;
      for (let i = 0; i < nRun[g]; i++) {
        const r = run[base + i];
        sched[r] = 0;
        computed[r] += j;
        generated[r] += j;
        const need = Math.ceil(computed[r] / BS) - blocks[r];
        if (need > 0) {
          blocks[r] += need;
          freeBlocks[g] -= need;
        }
      }
      kvTok[g] += j * decodeSeqsOf[g];
    }
    snapDirty = true;
    return t;
  }

  // ---- main loop ----
  let now = n > 0 ? arrival[0] : 0;
  const firstArrivalUs = now;
  let nextArr = 0; // next request to arrive
  let timeoutPtr = 0; // next request whose deadline has not been checked

  while (completed + failedRejected + failedTimeout < n) {
    // 1. Client timeouts (deadlines are in arrival order).
    if (timeoutUs > 0) {
      while (timeoutPtr < nextArr && arrival[timeoutPtr] + timeoutUs <= now) {
        const r = timeoutPtr++;
        const st = status[r];
        if (st === QUEUED) {
          inSystem--;
          fail(r, now, 1);
        } else if (st === WAITING || st === RUNNING) {
          abort(r, now);
        }
      }
    }
    // 2. Arrivals up to now: reject what can never fit, route the rest.
    while (nextArr < n && arrival[nextArr] <= now) {
      const r = nextArr++;
      if (prompt[r] + output[r] > fitLimit) {
        fail(r, arrival[r], 0);
        continue;
      }
      inSystem++;
      if (perStep) {
        status[r] = QUEUED;
        gq[gqTail++] = r;
      } else {
        dispatch(r, arrival[r], false);
      }
    }
    // 3. per_step: assign the whole global queue at this step boundary.
    if (perStep && gqHead < gqTail) {
      if (lpt) sortQueueLargestFirst(gq, gqHead, gqTail, prompt);
      // A router may hold requests for a later boundary, but not while every rank is idle.
      let busy = false;
      for (let g = 0; g < G && !busy; g++) busy = nRun[g] > 0 || nWaiting[g] > 0;
      let kept = 0;
      for (let k = gqHead; k < gqTail; k++) {
        const r = gq[k];
        if (status[r] === QUEUED && !dispatch(r, now, busy)) gq[kept++] = r;
      }
      gqHead = 0;
      gqTail = kept;
    }
    // 4. Schedule every rank.
    decodeOnly = true;
    let maxUs = 0;
    let sumUs = 0;
    let maxTok = 0;
    let totTok = 0;
    for (let g = 0; g < G; g++) {
      const tok = scheduleRank(g, now);
      const us = tok > 0 ? rankStepUs(model, basePs, work) : 0;
      rankUs[g] = us;
      sumUs += us;
      if (us > maxUs) maxUs = us;
      if (tok > maxTok) maxTok = tok;
      totTok += tok;
    }
    if (totTok === 0) {
      // Nothing runnable: jump to the next arrival (all ranks are empty).
      if (completed + failedRejected + failedTimeout === n) break;
      if (gqTail > gqHead) continue; // held requests: every rank is idle now, so they go next
      if (nextArr < n) {
        now = Math.max(now, arrival[nextArr]);
        continue;
      }
      throw new Error(`simulation stalled at t=${now}µs with ${inSystem} requests in the system`);
    }
    // Fast path: a stretch of decode-only steps with no event is advanced without touching
    // each request every step (same numbers as stepping one by one; see fastForward).
    if (decodeOnly && gqTail === gqHead) {
      // (Held requests make every boundary a decision point: no fast-forward then.)
      const k = eventFreeSteps();
      if (k >= 2) {
        now = fastForward(k, now, allToAllUs(model, maxTok, totTok));
        continue;
      }
    }
    // 5. The barrier: the step lasts as long as the slowest rank plus the all-to-all.
    const stepUs = Math.max(1, maxUs + allToAllUs(model, maxTok, totTok));
    const end = now + stepUs;
    // inSystem is sampled at the step's start, before completions.
    const inSystemAtStart = inSystem;
    for (let g = 0; g < G; g++) finishStep(g, end);
    // Load balance of the step: KV tokens resident after it, weighted by its duration.
    let maxLoad = 0;
    let sumLoad = 0;
    for (let g = 0; g < G; g++) {
      const l = kvTok[g];
      sumLoad += l;
      if (l > maxLoad) maxLoad = l;
    }
    recordStep(stepUs, maxUs, sumUs, maxLoad, sumLoad, inSystemAtStart);
    if (ts) ts.add(steps - 1, now, stepUs, G, kvTok, nRun, nWaiting, rankUs);
    snapDirty = true;
    now = end;
  }

  const c = newCounters(n);
  c.completed = completed;
  c.failedRejected = failedRejected;
  c.failedTimeout = failedTimeout;
  c.preemptions = preemptions;
  c.outputTokens = outputTokens;
  c.steps = steps;
  c.busyUs = busyUs;
  c.imbalanceAcc = imbAcc;
  c.balanceAcc = balAcc;
  c.loadWeightUs = loadWeight;
  c.sumRankUs = sumRankUs;
  c.sumMaxRankUs = sumMaxRankUs;
  c.inSystemAreaUs = inSystemArea;
  c.firstArrivalUs = firstArrivalUs;
  c.lastEventUs = lastEventUs;
  const metrics = summarize(c, hist, performance.now() - t0);
  const requests = opts.detail ? { status, rank: rankOf, admitUs, firstTokenUs: firstUs, endUs } : undefined;
  return { metrics, timeseries: ts?.build(), requests };
}

/** Stable sort of gq[lo, hi) by prompt length, largest first (insertion sort: queues are short). */
function sortQueueLargestFirst(gq: Int32Array, lo: number, hi: number, prompt: Int32Array): void {
  for (let i = lo + 1; i < hi; i++) {
    const r = gq[i];
    let j = i - 1;
    while (j >= lo && prompt[gq[j]] < prompt[r]) {
      gq[j + 1] = gq[j];
      j--;
    }
    gq[j + 1] = r;
  }
}

function newSeriesBuilder() {
  const step: number[] = [];
  const time: number[] = [];
  const rank: number[] = [];
  const kv: number[] = [];
  const running: number[] = [];
  const waiting: number[] = [];
  const rankStep: number[] = [];
  const stepLen: number[] = [];
  return {
    add(s: number, t: number, stepUs: number, G: number, kvTok: Float64Array, nRun: Int32Array, nWait: Int32Array, rankUs: Float64Array) {
      for (let g = 0; g < G; g++) {
        step.push(s);
        time.push(t);
        rank.push(g);
        kv.push(kvTok[g]);
        running.push(nRun[g]);
        waiting.push(nWait[g]);
        rankStep.push(rankUs[g]);
        stepLen.push(stepUs);
      }
    },
    build(): TimeSeries {
      return {
        step: Int32Array.from(step),
        time_us: Float64Array.from(time),
        rank: Int32Array.from(rank),
        kv_tokens: Float64Array.from(kv),
        running: Int32Array.from(running),
        waiting: Int32Array.from(waiting),
        rank_step_us: Float64Array.from(rankStep),
        step_us: Float64Array.from(stepLen),
      };
    },
  };
}
