// The simulation of docs/model.md §3-§7, one invocation per configuration: a port of
// the engine core (src/engine/core/), function for function, on the SoA buffers of layout.wgsl.
//
// Two entry points:
//   initConfigs    sets up a configuration's state (clock at the first arrival, empty ranks,
//                  router state);
//   simulateSteps  runs up to dims.maxIter iterations of the main loop (a step of the DP group, a
//                  fast-forwarded stretch of decode-only steps, or an idle jump to the next
//                  arrival), keeping the state in the buffers; the host re-dispatches until every
//                  configuration is done.
// Latency histograms and the run summary are computed on the host from the per-request times this
// kernel writes (status, first admission, first token, end), with the same code as the CPU engine.

// Override constants (with ROUTER in routers.wgsl). A specialised pipeline fixes the router,
// the dispatch mode and G; a generic one reads them from the parameters.
// DISPATCH_ON_ARRIVAL, DISPATCH_PER_STEP or DISPATCH_FROM_PARAMS.
override DISPATCH: u32 = DISPATCH_FROM_PARAMS;
// 0: read G from the parameters; > 0: every configuration of the pipeline has this G.
override G_FIXED: u32 = 0u;
// Invocations (configurations) per workgroup: 64 on GPUs; small on a software adapter, whose
// threads each take whole workgroups, so that long and short runs spread over the cores.
override WORKGROUP_SIZE: u32 = 64u;

// ---- the current configuration, loaded once per invocation ----
var<private> G: u32;
var<private> B: u32;
var<private> M: u32;
var<private> BS: u32;
var<private> N: u32;
var<private> J: u32;
var<private> totalBlocks: u32;
var<private> fitLimit: u32;
var<private> streamBase: u32;
var<private> survBase: u32;
var<private> survLen: u32;
var<private> timeoutUs: U64;
var<private> statsUs: U64;
var<private> rs: array<u32, 4>;
var<private> routerId: u32;
var<private> perStep: bool;
// Async scheduling (docs/model.md §3.1): admission and KV/slot reuse lag one step.
var<private> asyncOn: bool;
// ADP Balance context admission (docs/model.md §3.2) and its two waits, in group steps.
var<private> adpOn: bool;
var<private> adpTimeoutIters: u32;
var<private> adpBatchingWaitIters: u32;

// Loop state and totals (written back at the end of the dispatch).
var<private> now: U64;
var<private> nextArr: u32;
var<private> timeoutPtr: u32;
var<private> gqTail: u32;
var<private> nextSnap: U64;
var<private> snapDirty: bool;
var<private> completed: u32;
var<private> failedRejected: u32;
var<private> failedTimeout: u32;
var<private> preemptions: u32;
var<private> steps: u32;
var<private> inSystem: u32;
var<private> busyUs: U64;
var<private> loadWeightUs: U64;
var<private> sumRankUs: U64;
var<private> sumMaxRankUs: U64;
var<private> inSystemArea: U64;
var<private> imbAcc: U64;
var<private> balAcc: U64;
var<private> tokBalAcc: U64;
var<private> errorCode: u32;
// Async scheduling: start of the group step that ended at `now` (prevValid: one did), and whether
// a request appended at `now` is hidden behind its rank's busy pipeline.
var<private> prevStart: U64;
var<private> prevValid: bool;
var<private> anyHidden: bool;
// ADP Balance counters (TensorRT-LLM's adp_ctx_waiting_iters_count, adp_ctx_batching_wait_iters_count).
var<private> adpWait: u32;
var<private> adpBatch: u32;
// Time of the decision behind the current scheduling pass (scheduled_us of what it admits).
var<private> decisionAt: U64;

// Every scheduled token of this step is a decode token and nothing was preempted.
var<private> decodeOnly: bool;

// Work of the rank being scheduled (docs/model.md §5).
var<private> wDecode: u32;
var<private> wPrefill: u32;
var<private> wKvRead: u32;
var<private> wPairs: U64;
var<private> wPrefillKv: u32;
var<private> wDecodeKvMax: u32;
// Requests scheduled on the rank (the host term's R_max is the largest over ranks).
var<private> wReqs: u32;

// ---- request stream (shared, read-only) ----
fn arrivalOf(r: u32) -> U64 {
  let i = streamBase + 4u * r;
  return U64(streams[i], streams[i + 1u]);
}
fn promptOf(r: u32) -> u32 {
  return streams[streamBase + 4u * r + 2u];
}
fn outputOf(r: u32) -> u32 {
  return streams[streamBase + 4u * r + 3u];
}
fn survAt(a: u32) -> f32 {
  if (a < survLen) {
    return bitcast<f32>(streams[survBase + a]);
  }
  return 0.0;
}

// ---- state accessors ----
fn rq(f: u32, r: u32) -> u32 {
  return reqs[rIdx(f, r)];
}
fn setRq(f: u32, r: u32, v: u32) {
  reqs[rIdx(f, r)] = v;
}
fn rk(f: u32, g: u32) -> u32 {
  return ranks[kIdx(f, g)];
}
fn setRk(f: u32, g: u32, v: u32) {
  ranks[kIdx(f, g)] = v;
}
fn runAt(i: u32, g: u32) -> u32 {
  return ranks[runIdx(i, g)];
}
fn setRunAt(i: u32, g: u32, r: u32) {
  ranks[runIdx(i, g)] = r;
}
fn setTime(fLo: u32, r: u32, t: U64) {
  reqs[rIdx(fLo, r)] = t.x;
  reqs[rIdx(fLo + 1u, r)] = t.y;
}

fn loadConfig() {
  G = select(par(P_G), G_FIXED, G_FIXED != 0u);
  B = par(P_B);
  M = par(P_M);
  BS = par(P_BS);
  N = par(P_N);
  J = par(P_J);
  totalBlocks = par(P_TOTAL_BLOCKS);
  fitLimit = par(P_FIT_LIMIT);
  streamBase = par(P_STREAM);
  survBase = par(P_SURV);
  survLen = par(P_SURV_LEN);
  timeoutUs = U64(par(P_TIMEOUT_LO), par(P_TIMEOUT_HI));
  statsUs = U64(par(P_STATS_LO), par(P_STATS_HI));
  routerId = par(P_ROUTER);
  asyncOn = par(P_ASYNC) != 0u;
  adpOn = par(P_ADP) != 0u;
  adpTimeoutIters = par(P_ADP_TIMEOUT);
  adpBatchingWaitIters = par(P_ADP_BATCH);
  if (DISPATCH == DISPATCH_FROM_PARAMS) {
    perStep = par(P_PER_STEP) != 0u;
  } else {
    perStep = DISPATCH == DISPATCH_PER_STEP;
  }
}

fn loadState() {
  now = U64(cfg[sIdx(S_NOW_LO)], cfg[sIdx(S_NOW_HI)]);
  nextArr = cfg[sIdx(S_NEXT_ARR)];
  timeoutPtr = cfg[sIdx(S_TIMEOUT_PTR)];
  gqTail = cfg[sIdx(S_GQ_TAIL)];
  nextSnap = U64(cfg[sIdx(S_SNAP_LO)], cfg[sIdx(S_SNAP_HI)]);
  snapDirty = cfg[sIdx(S_SNAP_DIRTY)] != 0u;
  for (var k = 0u; k < 4u; k = k + 1u) {
    rs[k] = cfg[sIdx(S_RS0 + k)];
  }
  completed = cfg[sIdx(S_COMPLETED)];
  failedRejected = cfg[sIdx(S_FAILED_REJECTED)];
  failedTimeout = cfg[sIdx(S_FAILED_TIMEOUT)];
  preemptions = cfg[sIdx(S_PREEMPTIONS)];
  steps = cfg[sIdx(S_STEPS)];
  inSystem = cfg[sIdx(S_IN_SYSTEM)];
  busyUs = U64(cfg[sIdx(S_BUSY_LO)], cfg[sIdx(S_BUSY_HI)]);
  loadWeightUs = U64(cfg[sIdx(S_LOAD_WEIGHT_LO)], cfg[sIdx(S_LOAD_WEIGHT_HI)]);
  sumRankUs = U64(cfg[sIdx(S_SUM_RANK_LO)], cfg[sIdx(S_SUM_RANK_HI)]);
  sumMaxRankUs = U64(cfg[sIdx(S_SUM_MAX_LO)], cfg[sIdx(S_SUM_MAX_HI)]);
  inSystemArea = U64(cfg[sIdx(S_AREA_LO)], cfg[sIdx(S_AREA_HI)]);
  imbAcc = U64(cfg[sIdx(S_IMB_LO)], cfg[sIdx(S_IMB_HI)]);
  balAcc = U64(cfg[sIdx(S_BAL_LO)], cfg[sIdx(S_BAL_HI)]);
  tokBalAcc = U64(cfg[sIdx(S_TOKBAL_LO)], cfg[sIdx(S_TOKBAL_HI)]);
  errorCode = cfg[sIdx(S_ERROR)];
  prevStart = U64(cfg[sIdx(S_PREV_LO)], cfg[sIdx(S_PREV_HI)]);
  prevValid = prevStart.y != NONE;
  anyHidden = cfg[sIdx(S_HIDDEN)] != 0u;
  adpWait = cfg[sIdx(S_ADP_WAIT)];
  adpBatch = cfg[sIdx(S_ADP_BATCH)];
}

fn storeState() {
  cfg[sIdx(S_NOW_LO)] = now.x;
  cfg[sIdx(S_NOW_HI)] = now.y;
  cfg[sIdx(S_NEXT_ARR)] = nextArr;
  cfg[sIdx(S_TIMEOUT_PTR)] = timeoutPtr;
  cfg[sIdx(S_GQ_TAIL)] = gqTail;
  cfg[sIdx(S_SNAP_LO)] = nextSnap.x;
  cfg[sIdx(S_SNAP_HI)] = nextSnap.y;
  cfg[sIdx(S_SNAP_DIRTY)] = select(0u, 1u, snapDirty);
  for (var k = 0u; k < 4u; k = k + 1u) {
    cfg[sIdx(S_RS0 + k)] = rs[k];
  }
  cfg[sIdx(S_COMPLETED)] = completed;
  cfg[sIdx(S_FAILED_REJECTED)] = failedRejected;
  cfg[sIdx(S_FAILED_TIMEOUT)] = failedTimeout;
  cfg[sIdx(S_PREEMPTIONS)] = preemptions;
  cfg[sIdx(S_STEPS)] = steps;
  cfg[sIdx(S_IN_SYSTEM)] = inSystem;
  cfg[sIdx(S_BUSY_LO)] = busyUs.x;
  cfg[sIdx(S_BUSY_HI)] = busyUs.y;
  cfg[sIdx(S_LOAD_WEIGHT_LO)] = loadWeightUs.x;
  cfg[sIdx(S_LOAD_WEIGHT_HI)] = loadWeightUs.y;
  cfg[sIdx(S_SUM_RANK_LO)] = sumRankUs.x;
  cfg[sIdx(S_SUM_RANK_HI)] = sumRankUs.y;
  cfg[sIdx(S_SUM_MAX_LO)] = sumMaxRankUs.x;
  cfg[sIdx(S_SUM_MAX_HI)] = sumMaxRankUs.y;
  cfg[sIdx(S_AREA_LO)] = inSystemArea.x;
  cfg[sIdx(S_AREA_HI)] = inSystemArea.y;
  cfg[sIdx(S_IMB_LO)] = imbAcc.x;
  cfg[sIdx(S_IMB_HI)] = imbAcc.y;
  cfg[sIdx(S_BAL_LO)] = balAcc.x;
  cfg[sIdx(S_BAL_HI)] = balAcc.y;
  cfg[sIdx(S_TOKBAL_LO)] = tokBalAcc.x;
  cfg[sIdx(S_TOKBAL_HI)] = tokBalAcc.y;
  cfg[sIdx(S_ERROR)] = errorCode;
  cfg[sIdx(S_PREV_LO)] = select(NONE, prevStart.x, prevValid);
  cfg[sIdx(S_PREV_HI)] = select(NONE, prevStart.y, prevValid);
  cfg[sIdx(S_HIDDEN)] = select(0u, 1u, anyHidden);
  cfg[sIdx(S_ADP_WAIT)] = adpWait;
  cfg[sIdx(S_ADP_BATCH)] = adpBatch;
}

// ---- waiting queues (doubly linked through R_WNEXT / R_WPREV) ----
fn unprocessed(r: u32) -> u32 {
  return promptOf(r) + rq(R_GENERATED, r) - rq(R_COMPUTED, r);
}

fn pushWaitingTail(g: u32, r: u32) {
  let tail = rk(K_WTAIL, g);
  setRq(R_WPREV, r, tail);
  setRq(R_WNEXT, r, NONE);
  if (tail != NONE) {
    setRq(R_WNEXT, tail, r);
  } else {
    setRk(K_WHEAD, g, r);
  }
  setRk(K_WTAIL, g, r);
  setRk(K_NWAIT, g, rk(K_NWAIT, g) + 1u);
  setRk(K_QUEUED, g, rk(K_QUEUED, g) + unprocessed(r));
}

fn pushWaitingHead(g: u32, r: u32) {
  let head = rk(K_WHEAD, g);
  setRq(R_WNEXT, r, head);
  setRq(R_WPREV, r, NONE);
  if (head != NONE) {
    setRq(R_WPREV, head, r);
  } else {
    setRk(K_WTAIL, g, r);
  }
  setRk(K_WHEAD, g, r);
  setRk(K_NWAIT, g, rk(K_NWAIT, g) + 1u);
  setRk(K_QUEUED, g, rk(K_QUEUED, g) + unprocessed(r));
}

fn unlinkWaiting(g: u32, r: u32) {
  let p = rq(R_WPREV, r);
  let q = rq(R_WNEXT, r);
  if (p != NONE) {
    setRq(R_WNEXT, p, q);
  } else {
    setRk(K_WHEAD, g, q);
  }
  if (q != NONE) {
    setRq(R_WPREV, q, p);
  } else {
    setRk(K_WTAIL, g, p);
  }
  setRq(R_WNEXT, r, NONE);
  setRq(R_WPREV, r, NONE);
  setRk(K_NWAIT, g, rk(K_NWAIT, g) - 1u);
  setRk(K_QUEUED, g, rk(K_QUEUED, g) - unprocessed(r));
}

fn releaseBlocks(g: u32, r: u32) {
  setRk(K_FREE, g, rk(K_FREE, g) + rq(R_BLOCKS, r));
  setRq(R_BLOCKS, r, 0u);
}

/// A running request leaves rank g at a boundary (completion or abort): its blocks and slot are
/// free at once, or with async scheduling held until the next boundary (the scheduler decided the
/// next step before it saw the release).
fn releaseAtBoundary(g: u32, r: u32) {
  if (asyncOn) {
    setRk(K_PEND_BLOCKS, g, rk(K_PEND_BLOCKS, g) + rq(R_BLOCKS, r));
    setRk(K_PEND_SLOTS, g, rk(K_PEND_SLOTS, g) + 1u);
    setRq(R_BLOCKS, r, 0u);
  } else {
    releaseBlocks(g, r);
  }
}

/// Release every rank's held blocks and slots; true when some rank held any.
fn releasePending() -> bool {
  var any = false;
  for (var g = 0u; g < G; g = g + 1u) {
    if (rk(K_PEND_SLOTS, g) != 0u) {
      setRk(K_FREE, g, rk(K_FREE, g) + rk(K_PEND_BLOCKS, g));
      setRk(K_PEND_BLOCKS, g, 0u);
      setRk(K_PEND_SLOTS, g, 0u);
      any = true;
    }
  }
  return any;
}

fn removeRunningAt(g: u32, i: u32) {
  let n = rk(K_NRUN, g);
  for (var k = i; k + 1u < n; k = k + 1u) {
    setRunAt(k, g, runAt(k + 1u, g));
  }
  setRk(K_NRUN, g, n - 1u);
}

/// Preempt the most recently admitted running request of rank g (recompute semantics).
fn preemptLast(g: u32) -> u32 {
  let n = rk(K_NRUN, g);
  let r = runAt(n - 1u, g);
  setRk(K_NRUN, g, n - 1u);
  setRk(K_KV, g, rk(K_KV, g) - rq(R_COMPUTED, r));
  releaseBlocks(g, r);
  setRq(R_COMPUTED, r, 0u);
  setRq(R_SCHED, r, 0u);
  setRq(R_STATUS, r, ST_WAITING);
  pushWaitingHead(g, r);
  preemptions = preemptions + 1u;
  return r;
}

// ---- the router's view ----
// Projected loads (routers/projections.ts): brh reads the binary cutoff, kept in the projMean
// words (its router reads nothing else there); the others the survival-weighted mean and variance.
fn addProjection(g: u32, r: u32, w: u32) {
  if (select(ROUTER, routerId, ROUTER == RT_FROM_PARAMS) == RT_BRH) {
    addCutoffProjection(g, r, w);
    return;
  }
  let a = rq(R_GENERATED, r);
  let sa = survAt(a);
  for (var j = 0u; j < J; j = j + 1u) {
    let h = hzStep(j);
    var q = 0.0;
    if (sa > 0.0) {
      q = survAt(a + h) / sa;
    } else if (h == 0u) {
      q = 1.0;
    }
    let load = f32(w + h);
    let mi = projMeanIdx(j, g);
    let vi = projVarIdx(j, g);
    ranks[mi] = bitcast<u32>(bitcast<f32>(ranks[mi]) + q * load);
    ranks[vi] = bitcast<u32>(bitcast<f32>(ranks[vi]) + q * (1.0 - q) * load * load);
  }
}

fn medianRemainingAt(a: u32) -> u32 {
  if (a < survLen) {
    return streams[survBase + survLen + a];
  }
  return 1u;
}

// Binary cutoff: w + h while h < c, c = the predictor's remaining steps. Compared exactly as the
// host does: oracle and median are integers; noisy is remaining * q / 2^16 with q the request's
// fixed-point factor (host-drawn, stream at word P_NOISE), compared as h * 2^16 < remaining * q.
fn addCutoffProjection(g: u32, r: u32, w: u32) {
  let a = rq(R_GENERATED, r);
  let pred = par(P_PRED);
  let rem = outputOf(r) - a;
  var q = 0u;
  if (pred == PRED_NOISY) {
    q = streams[par(P_NOISE) + r];
  }
  let med = medianRemainingAt(a);
  for (var j = 0u; j < J; j = j + 1u) {
    let h = hzStep(j);
    var alive = true;
    if (pred == PRED_ORACLE) {
      alive = h < rem;
    } else if (pred == PRED_NOISY) {
      alive = lt64(U64(h << 16u, h >> 16u), mul32x32(rem, q));
    } else if (pred == PRED_MEDIAN) {
      alive = h < med;
    }
    if (!alive) {
      break;
    }
    let mi = projMeanIdx(j, g);
    ranks[mi] = bitcast<u32>(bitcast<f32>(ranks[mi]) + f32(w + h));
  }
}

fn refreshSnapshot() {
  for (var g = 0u; g < G; g = g + 1u) {
    setRk(K_VWAIT, g, rk(K_NWAIT, g));
    setRk(K_VRUN, g, rk(K_NRUN, g));
    setRk(K_VKV, g, rk(K_KV, g));
    setRk(K_VQUEUED, g, rk(K_QUEUED, g));
    setRk(K_VUSED, g, totalBlocks - rk(K_FREE, g));
  }
  if (J > 0u) {
    for (var g = 0u; g < G; g = g + 1u) {
      for (var j = 0u; j < J; j = j + 1u) {
        ranks[projMeanIdx(j, g)] = 0u;
        ranks[projVarIdx(j, g)] = 0u;
      }
      let nr = rk(K_NRUN, g);
      for (var i = 0u; i < nr; i = i + 1u) {
        let r = runAt(i, g);
        addProjection(g, r, rq(R_COMPUTED, r));
      }
      var r = rk(K_WHEAD, g);
      loop {
        if (r == NONE) {
          break;
        }
        addProjection(g, r, promptOf(r) + rq(R_GENERATED, r));
        r = rq(R_WNEXT, r);
      }
    }
  }
  snapDirty = false;
}

/// Route request r at time t: choose a rank, enqueue it there, apply the optimistic bookkeeping.
fn dispatchRequest(r: u32, t: U64) {
  var refresh = false;
  if (statsUs.x == 0u && statsUs.y == 0u) {
    refresh = snapDirty;
  } else {
    refresh = le64(nextSnap, t);
  }
  if (refresh) {
    refreshSnapshot();
    nextSnap = add64(t, statsUs);
  }
  let p = promptOf(r);
  var g = route(p);
  if (g >= G) {
    errorCode = ERR_BAD_RANK;
    g = 0u;
  }
  setRq(R_RANK, r, g);
  setRq(R_STATUS, r, ST_WAITING);
  // The engine core receives it at this boundary (vLLM's queued_ts).
  setTime(R_QUEUED_LO, r, now);
  if (asyncOn && rk(K_BUSY, g) != 0u) {
    anyHidden = true;
  }
  pushWaitingTail(g, r);
  setRk(K_INFLIGHT, g, rk(K_INFLIGHT, g) + 1u);
  setRk(K_VWAIT, g, rk(K_VWAIT, g) + 1u);
  setRk(K_VQUEUED, g, rk(K_VQUEUED, g) + p);
  if (J > 0u) {
    addProjection(g, r, p);
  }
}

fn failRequest(r: u32, t: U64, timeout: bool) {
  setRq(R_STATUS, r, ST_FAILED);
  setTime(R_END_LO, r, t);
  if (timeout) {
    failedTimeout = failedTimeout + 1u;
  } else {
    failedRejected = failedRejected + 1u;
  }
}

/// Abort request r at time t (client timeout), wherever it is.
fn abortRequest(r: u32, t: U64) {
  let g = rq(R_RANK, r);
  let st = rq(R_STATUS, r);
  if (st == ST_WAITING) {
    unlinkWaiting(g, r);
  } else if (st == ST_RUNNING) {
    let n = rk(K_NRUN, g);
    for (var i = 0u; i < n; i = i + 1u) {
      if (runAt(i, g) == r) {
        removeRunningAt(g, i);
        break;
      }
    }
    setRk(K_KV, g, rk(K_KV, g) - rq(R_COMPUTED, r));
    releaseAtBoundary(g, r);
  }
  if (g != NONE) {
    setRk(K_INFLIGHT, g, rk(K_INFLIGHT, g) - 1u);
  }
  inSystem = inSystem - 1u;
  failRequest(r, t, true);
  snapDirty = true;
}

// ---- rank scheduler (docs/model.md §6) ----
fn ceilDiv(a: u32, b: u32) -> u32 {
  return (a + b - 1u) / b;
}

/// Add a scheduled chunk of `chunk` tokens on top of `comp` computed ones to the rank's work.
fn account(chunk: u32, comp: u32, gen: u32) {
  wKvRead = wKvRead + comp;
  if (chunk == 1u && gen > 0u) {
    wDecode = wDecode + 1u;
    wDecodeKvMax = max(wDecodeKvMax, comp);
  } else {
    wPrefill = wPrefill + chunk;
    wPairs = add64(wPairs, add64(mul32x32(chunk, comp), shr64(mul32x32(chunk, chunk + 1u), 1u)));
    wPrefillKv = wPrefillKv + comp;
  }
}

/// When the scheduler decided to first schedule request r (vLLM's scheduled_ts): the pass's
/// decision time (decisionAt), never before the request was queued.
fn decisionTime(r: u32) -> U64 {
  return max64(decisionAt, U64(rq(R_QUEUED_LO, r), rq(R_QUEUED_HI, r)));
}

/// With `noContext` (an ADP Balance hold, docs/model.md §3.2) only decode tokens are scheduled:
/// running requests with prefill left are skipped and nothing is admitted.
fn scheduleRank(g: u32, noContext: bool) -> u32 {
  var budget = M;
  wDecode = 0u;
  wPrefill = 0u;
  wKvRead = 0u;
  wPairs = U64(0u, 0u);
  wPrefillKv = 0u;
  wDecodeKvMax = 0u;
  wReqs = 0u;
  // Async: requests appended at `now` are hidden when this rank computed in the step that ended
  // at `now`; slots released at `now` still count as held.
  let hideNew = asyncOn && rk(K_BUSY, g) != 0u;
  let heldSlots = rk(K_PEND_SLOTS, g);
  var tokens = 0u;
  var preempted = false;
  var i = 0u;
  loop {
    if (i >= rk(K_NRUN, g) || budget == 0u) {
      break;
    }
    let r = runAt(i, g);
    let comp = rq(R_COMPUTED, r);
    let gen = rq(R_GENERATED, r);
    // ADP Balance hold: context work waits, decodes go on.
    if (noContext && (gen == 0u || promptOf(r) + gen - comp != 1u)) {
      i = i + 1u;
      continue;
    }
    let blocks = rq(R_BLOCKS, r);
    let chunk = min(promptOf(r) + gen - comp, budget);
    let need = i32(ceilDiv(comp + chunk, BS)) - i32(blocks);
    var selfPreempted = false;
    loop {
      if (need <= i32(rk(K_FREE, g))) {
        break;
      }
      preempted = true;
      if (preemptLast(g) == r) {
        selfPreempted = true;
        break;
      }
    }
    if (selfPreempted) {
      break;
    }
    if (need > 0) {
      setRk(K_FREE, g, rk(K_FREE, g) - u32(need));
      setRq(R_BLOCKS, r, blocks + u32(need));
    }
    setRq(R_SCHED, r, chunk);
    account(chunk, comp, gen);
    budget = budget - chunk;
    tokens = tokens + chunk;
    wReqs = wReqs + 1u;
    i = i + 1u;
  }
  if (!preempted && !noContext) {
    loop {
      let nr = rk(K_NRUN, g);
      if (!(rk(K_NWAIT, g) > 0u && nr + heldSlots < B && budget > 0u)) {
        break;
      }
      let r = rk(K_WHEAD, g);
      if (hideNew && eq64(U64(rq(R_QUEUED_LO, r), rq(R_QUEUED_HI, r)), now)) {
        break; // FCFS: a hidden head ends the pass
      }
      let comp = rq(R_COMPUTED, r);
      let gen = rq(R_GENERATED, r);
      let chunk = min(promptOf(r) + gen - comp, budget);
      let need = i32(ceilDiv(comp + chunk, BS)) - i32(rq(R_BLOCKS, r));
      if (need > i32(rk(K_FREE, g))) {
        break; // FCFS: the head blocks the queue
      }
      unlinkWaiting(g, r);
      setRunAt(nr, g, r);
      setRk(K_NRUN, g, nr + 1u);
      setRq(R_STATUS, r, ST_RUNNING);
      setRk(K_KV, g, rk(K_KV, g) + comp);
      if (rq(R_ADMIT_HI, r) == NONE) {
        setTime(R_ADMIT_LO, r, now);
        setTime(R_SCHED_AT_LO, r, decisionTime(r));
      }
      setRk(K_FREE, g, u32(i32(rk(K_FREE, g)) - need));
      setRq(R_BLOCKS, r, u32(i32(rq(R_BLOCKS, r)) + need));
      setRq(R_SCHED, r, chunk);
      account(chunk, comp, gen);
      budget = budget - chunk;
      tokens = tokens + chunk;
      wReqs = wReqs + 1u;
    }
  }
  setRk(K_BUSY, g, select(0u, 1u, tokens > 0u));
  setRk(K_FF_DECODE, g, wDecode);
  setRk(K_FF_KV_READ, g, wKvRead);
  setRk(K_FF_KV_MAX, g, wDecodeKvMax);
  if (preempted || wPrefill > 0u || wDecode != rk(K_NRUN, g)) {
    decodeOnly = false;
  }
  return tokens;
}

// ---- step time (docs/model.md §5), exact integer picoseconds ----
fn rankStepUs() -> u32 {
  if (wDecode == 0u && wPrefill == 0u) {
    return 0u;
  }
  var ps = U64(par(P_BASE_PS_LO), par(P_BASE_PS_HI));
  ps = add64(ps, mul32x32(par(P_C_DECODE), wDecode));
  ps = add64(ps, mul32x32(par(P_C_PREFILL), wPrefill));
  ps = add64(ps, mul32x32(par(P_C_KV_READ), wKvRead));
  ps = add64(ps, mul64x32(shr64(wPairs, 10u), par(P_C_ATTN_KILO)));
  if (wPrefill > 0u) {
    // Prefill chunks' own context, and the decodes of a mixed batch at the mixed-batch rates.
    ps = add64(ps, mul32x32(par(P_C_PREFILL_KV), wPrefillKv));
    ps = add64(ps, mul32x32(par(P_C_MIXED_SEQ), wDecode));
    ps = add64(ps, mul32x32(par(P_C_MIXED_KV), wKvRead - wPrefillKv));
  }
  if (wDecode > 0u) {
    // Uneven decode contexts: decodeSeqs * longest context - sum of decode contexts.
    let skew = sub64(mul32x32(wDecode, wDecodeKvMax), u64of(wKvRead - wPrefillKv));
    ps = add64(ps, mul64x32(skew, par(P_C_SKEW)));
  }
  let us = div64by1e6(ps);
  if (us.y != 0u) {
    errorCode = ERR_STEP_OVERFLOW;
  }
  return us.x;
}

/// The max-rank-token curve at x (0 without a curve): ps[i] + slope[i] * (x - tokens[i]) with i
/// the last breakpoint at or below x (the first when x is below it), as src/model/stepCurve.ts.
fn curvePs(x: u32) -> U64 {
  let len = par(P_CURVE_LEN);
  if (len == 0u) {
    return U64(0u, 0u);
  }
  let base = par(P_CURVE);
  if (x <= streams[base]) {
    return U64(streams[base + 1u], streams[base + 2u]);
  }
  var lo = 0u;
  var hi = len - 1u;
  loop {
    if (lo >= hi) {
      break;
    }
    let mid = (lo + hi + 1u) >> 1u;
    if (streams[base + 4u * mid] <= x) {
      lo = mid;
    } else {
      hi = mid - 1u;
    }
  }
  let p = base + 4u * lo;
  let ps = U64(streams[p + 1u], streams[p + 2u]);
  return add64(ps, mul32x32(streams[p + 3u], x - streams[p]));
}

/// floor(a / d) for d < 2^16 (d = G <= MAX_DP), 16 bits at a time as div64by1e6.
fn div64bySmall(a: U64, d: u32) -> U64 {
  var cur = a.y >> 16u;
  let q3 = cur / d;
  var r = cur % d;
  cur = (r << 16u) | (a.y & 0xffffu);
  let q2 = cur / d;
  r = cur % d;
  cur = (r << 16u) | (a.x >> 16u);
  let q1 = cur / d;
  r = cur % d;
  cur = (r << 16u) | (a.x & 0xffffu);
  let q0 = cur / d;
  return U64((q1 << 16u) | q0, (q3 << 16u) | q2);
}

/// Group part of the step; kvSum = KV tokens read by all ranks (the mean-KV term,
/// floor(perMeanKvToken * kvSum / G); src/model/stepTime.ts meanKvPs).
fn allToAllUs(maxTok: u32, totTok: u32, kvSum: U64) -> u32 {
  if (totTok == 0u) {
    return 0u;
  }
  var ps = U64(par(P_A2A_BASE_LO), par(P_A2A_BASE_HI));
  ps = add64(ps, mul32x32(par(P_A2A_MAX_TOK), maxTok));
  ps = add64(ps, mul32x32(par(P_A2A_TOK), totTok));
  ps = add64(ps, curvePs(maxTok));
  let meanKv = par(P_C_MEAN_KV);
  if (meanKv != 0u) {
    ps = add64(ps, div64bySmall(mul64x32(kvSum, meanKv), G));
  }
  let us = div64by1e6(ps);
  if (us.y != 0u) {
    errorCode = ERR_STEP_OVERFLOW;
  }
  return us.x;
}

/// Host part of the step: floor((hostPerStep + dpSync(G) + hostPerRequest * rMax) / 10^6) µs,
/// rMax = the most requests scheduled on one rank (src/model/stepTime.ts).
fn hostStepUs(rMax: u32) -> u32 {
  var ps = U64(par(P_HOST_LO), par(P_HOST_HI));
  ps = add64(ps, mul32x32(par(P_HOST_REQ), rMax));
  let us = div64by1e6(ps);
  if (us.y != 0u) {
    errorCode = ERR_STEP_OVERFLOW;
  }
  return us.x;
}

// ---- effects of a step (docs/model.md §7) ----
fn completeRequest(r: u32, g: u32, t: U64) {
  setRq(R_STATUS, r, ST_DONE);
  setTime(R_END_LO, r, t);
  setRk(K_KV, g, rk(K_KV, g) - rq(R_COMPUTED, r));
  releaseAtBoundary(g, r);
  setRk(K_INFLIGHT, g, rk(K_INFLIGHT, g) - 1u);
  inSystem = inSystem - 1u;
  completed = completed + 1u;
}

fn finishStep(g: u32, t: U64) {
  var i = 0u;
  var kvAdd = 0u;
  loop {
    if (i >= rk(K_NRUN, g)) {
      break;
    }
    let r = runAt(i, g);
    let s = rq(R_SCHED, r);
    if (s == 0u) {
      i = i + 1u;
      continue;
    }
    setRq(R_SCHED, r, 0u);
    let comp = rq(R_COMPUTED, r) + s;
    setRq(R_COMPUTED, r, comp);
    kvAdd = kvAdd + s;
    let gen = rq(R_GENERATED, r);
    if (comp == promptOf(r) + gen) {
      setRq(R_GENERATED, r, gen + 1u);
      if (gen == 0u) {
        setTime(R_FIRST_LO, r, t);
      }
      if (gen + 1u >= outputOf(r)) {
        // completeRequest subtracts `comp` from the rank's KV: settle the additions first.
        setRk(K_KV, g, rk(K_KV, g) + kvAdd);
        kvAdd = 0u;
        completeRequest(r, g, t);
        removeRunningAt(g, i);
        continue;
      }
    }
    i = i + 1u;
  }
  setRk(K_KV, g, rk(K_KV, g) + kvAdd);
}

/// Stable insertion sort of the global queue by prompt length, largest first (assign_order lpt).
fn sortQueueLargestFirst() {
  for (var i = 1u; i < gqTail; i = i + 1u) {
    let r = rq(R_GQ, i);
    let pr = promptOf(r);
    var j = i;
    loop {
      if (j == 0u) {
        break;
      }
      let prev = rq(R_GQ, j - 1u);
      if (!(promptOf(prev) < pr)) {
        break;
      }
      setRq(R_GQ, j, prev);
      j = j - 1u;
    }
    setRq(R_GQ, j, r);
  }
}

// ---- decode-only stretches (the CPU engine's fast path, same numbers as stepping) ----

/// How many steps, starting with the one just scheduled, can run with nothing but decode tokens,
/// no completion at their end, no preemption and no new admission (src/engine/core/engineCore.ts,
/// eventFreeSteps). 0 when fewer than 2.
fn eventFreeSteps() -> u32 {
  var k = NONE;
  for (var g = 0u; g < G; g = g + 1u) {
    let nr = rk(K_NRUN, g);
    for (var i = 0u; i < nr; i = i + 1u) {
      let r = runAt(i, g);
      let left = i32(outputOf(r)) - i32(rq(R_GENERATED, r)) - 1;
      if (left < 0) {
        return 0u;
      }
      k = min(k, u32(left));
    }
  }
  if (k < 2u || k == NONE) {
    return 0u;
  }
  // KV blocks: every request must be able to grow by k tokens; otherwise only as far as no
  // request needs a new block.
  for (var g = 0u; g < G; g = g + 1u) {
    let nr = rk(K_NRUN, g);
    var extra = 0u;
    var noAlloc = NONE;
    for (var i = 0u; i < nr; i = i + 1u) {
      let r = runAt(i, g);
      let comp = rq(R_COMPUTED, r);
      let blocks = rq(R_BLOCKS, r);
      extra = extra + ceilDiv(comp + k, BS) - blocks;
      noAlloc = min(noAlloc, BS * blocks - comp);
    }
    if (extra > rk(K_FREE, g) && noAlloc < k) {
      k = noAlloc;
    }
  }
  return k;
}

/// Step time of rank g at step j of a decode-only stretch.
fn decodeStepUs(g: u32, j: u32) -> u32 {
  let d = rk(K_FF_DECODE, g);
  wDecode = d;
  wPrefill = 0u;
  wPairs = U64(0u, 0u);
  wPrefillKv = 0u;
  wDecodeKvMax = rk(K_FF_KV_MAX, g) + j;
  wKvRead = rk(K_FF_KV_READ, g) + j * d;
  return rankStepUs();
}

/// Account one group step (the load terms use the KV resident after the step).
fn recordStep(stepUs: u32, maxUs: u32, sumUs: U64, maxLoad: u32, sumLoad: U64, inSys: u32) {
  steps = steps + 1u;
  busyUs = add64u(busyUs, stepUs);
  sumRankUs = add64(sumRankUs, sumUs);
  sumMaxRankUs = add64(sumMaxRankUs, mul32x32(maxUs, G));
  inSystemArea = add64(inSystemArea, mul32x32(inSys, stepUs));
  if (maxLoad > 0u) {
    // (max - mean) / mean = (G*max - sum) / sum and mean / max = sum / (G*max): integer parts
    // exact, one f32 division, then fixed point so the sum over steps adds no rounding.
    let gMax = mul32x32(maxLoad, G);
    let T = f32(stepUs);
    let sumF = f32of64(sumLoad);
    imbAcc = add64(imbAcc, toFixedPoint(T * (f32of64(sub64(gMax, sumLoad)) / sumF)));
    balAcc = add64(balAcc, toFixedPoint(T * (sumF / f32of64(gMax))));
    loadWeightUs = add64u(loadWeightUs, stepUs);
  }
}

/// TensorRT-LLM's balance ratio of a busy step, mean_g / max_g tokens scheduled per rank (idle
/// ranks count 0), in 2^-TOKBAL_BITS fixed point: totTok and G * maxTok in f32 (exact below 2^24),
/// one f32 division (the CPU divides in f64), and the scaled ratio (<= 2^31) converts to u32
/// without further loss.
fn tokenBalanceFixed(totTok: u32, maxTok: u32) -> u32 {
  return u32(f32(totTok) / (f32(G) * f32(maxTok)) * f32(1u << TOKBAL_BITS));
}

/// Advance up to k decode-only steps from now (the first already scheduled); stop at the first
/// boundary at or after an arrival or a timeout deadline. Per step only per-rank sums change.
fn fastForward(k: u32, maxTok: u32, totTok: u32, kvSum: U64, hostUs: u32) {
  // The group part is constant in the stretch except the mean-KV term: every rank's KV read
  // grows by its decode count per step.
  var a2aUs = allToAllUs(maxTok, totTok, kvSum);
  let meanKv = par(P_C_MEAN_KV) != 0u;
  var decodeAll = 0u;
  for (var g = 0u; g < G; g = g + 1u) {
    decodeAll = decodeAll + rk(K_FF_DECODE, g);
  }
  var t = now;
  var j = 0u;
  loop {
    if (j >= k) {
      break;
    }
    prevStart = t;
    var maxUs = 0u;
    var sumUs = U64(0u, 0u);
    var maxLoad = 0u;
    var sumLoad = U64(0u, 0u);
    if (meanKv && j > 0u) {
      a2aUs = allToAllUs(maxTok, totTok, add64(kvSum, mul32x32(j, decodeAll)));
    }
    for (var g = 0u; g < G; g = g + 1u) {
      let d = rk(K_FF_DECODE, g);
      if (d == 0u) {
        continue;
      }
      let us = decodeStepUs(g, j);
      sumUs = add64u(sumUs, us);
      maxUs = max(maxUs, us);
      // Idle ranks hold no running request: their load is 0.
      let l = rk(K_KV, g) + (j + 1u) * d;
      sumLoad = add64u(sumLoad, l);
      maxLoad = max(maxLoad, l);
    }
    let stepUs = max(1u, maxUs + a2aUs + hostUs);
    recordStep(stepUs, maxUs, sumUs, maxLoad, sumLoad, inSystem);
    t = add64u(t, stepUs);
    j = j + 1u;
    if (nextArr < N && le64(arrivalOf(nextArr), t)) {
      break;
    }
    if ((timeoutUs.x != 0u || timeoutUs.y != 0u) && timeoutPtr < nextArr && le64(add64(arrivalOf(timeoutPtr), timeoutUs), t)) {
      break;
    }
  }
  // Every step of the stretch schedules the same decodes: the same token balance.
  tokBalAcc = add64(tokBalAcc, mul32x32(tokenBalanceFixed(totTok, maxTok), j));
  // Apply j decode steps to every running request.
  for (var g = 0u; g < G; g = g + 1u) {
    let nr = rk(K_NRUN, g);
    for (var i = 0u; i < nr; i = i + 1u) {
      let r = runAt(i, g);
      setRq(R_SCHED, r, 0u);
      let comp = rq(R_COMPUTED, r) + j;
      setRq(R_COMPUTED, r, comp);
      setRq(R_GENERATED, r, rq(R_GENERATED, r) + j);
      let blocks = rq(R_BLOCKS, r);
      let need = ceilDiv(comp, BS);
      if (need > blocks) {
        setRq(R_BLOCKS, r, need);
        setRk(K_FREE, g, rk(K_FREE, g) - (need - blocks));
      }
    }
    setRk(K_KV, g, rk(K_KV, g) + j * rk(K_FF_DECODE, g));
  }
  snapDirty = true;
  prevValid = true;
  now = t;
}

/// Fixed-point (2^FIX_BITS) value of a non-negative f32.
fn toFixedPoint(v: f32) -> U64 {
  return u64ofF32(v * f32(1u << FIX_BITS));
}

/// ADP Balance (TensorRT-LLM's attention_dp_config enable_balance; docs/model.md §3.2): whether
/// the group step starting now holds every rank's context work. Advances the two counters. Each
/// rank is classified as its next pass will see it (src/engine/core/engineCore.ts, adpHold).
fn adpHold() -> bool {
  var allCtx = true;
  var anyCtx = false;
  var allGen = true;
  var allFree = true;
  for (var g = 0u; g < G; g = g + 1u) {
    // Decode requests and context work of rank g.
    var gen = 0u;
    var ctx = false;
    let nr = rk(K_NRUN, g);
    for (var i = 0u; i < nr; i = i + 1u) {
      let r = runAt(i, g);
      let gn = rq(R_GENERATED, r);
      if (gn > 0u && promptOf(r) + gn - rq(R_COMPUTED, r) == 1u) {
        gen = gen + 1u;
      } else {
        ctx = true;
      }
    }
    // Failing that, the head of the waiting queue, if this pass can admit it: visible (async:
    // not hidden behind a busy pipeline), a slot free and the blocks of its first chunk at the
    // full budget free, as the pass will see them: with async scheduling the slots and blocks
    // released at this boundary are free, those still held (K_PEND_*) count as used.
    if (!ctx && rk(K_NWAIT, g) > 0u && nr + rk(K_PEND_SLOTS, g) < B) {
      let r = rk(K_WHEAD, g);
      let hidden = asyncOn && rk(K_BUSY, g) != 0u && eq64(U64(rq(R_QUEUED_LO, r), rq(R_QUEUED_HI, r)), now);
      let comp = rq(R_COMPUTED, r);
      let chunk = min(unprocessed(r), M);
      ctx = !hidden && i32(ceilDiv(comp + chunk, BS)) - i32(rq(R_BLOCKS, r)) <= i32(rk(K_FREE, g));
    }
    if (ctx) {
      anyCtx = true;
    } else {
      allCtx = false;
    }
    if (gen == 0u) {
      allGen = false;
    }
    if (gen >= B) {
      allFree = false;
    }
  }
  if (allFree && allCtx) {
    adpWait = 0u;
    if (!allGen) {
      return false;
    }
    if (adpBatch < adpBatchingWaitIters) {
      adpBatch = adpBatch + 1u;
      return true;
    }
    adpBatch = 0u;
    return false;
  }
  // The counter advances whether or not any rank has context work (as in TensorRT-LLM); a step
  // without context work holds nothing.
  adpWait = adpWait + 1u;
  if (adpWait >= adpTimeoutIters || !allGen) {
    adpWait = 0u;
    return false;
  }
  return anyCtx;
}

/// One iteration of the main loop (docs/model.md §3). Returns true when the run is over.
fn iterate() -> bool {
  if (completed + failedRejected + failedTimeout >= N) {
    return true;
  }
  // 1. Client timeouts, in arrival order.
  if (timeoutUs.x != 0u || timeoutUs.y != 0u) {
    loop {
      if (!(timeoutPtr < nextArr && le64(add64(arrivalOf(timeoutPtr), timeoutUs), now))) {
        break;
      }
      let r = timeoutPtr;
      timeoutPtr = timeoutPtr + 1u;
      let st = rq(R_STATUS, r);
      if (st == ST_QUEUED) {
        inSystem = inSystem - 1u;
        failRequest(r, now, true);
      } else if (st == ST_WAITING || st == ST_RUNNING) {
        abortRequest(r, now);
      }
    }
  }
  // 2. Arrivals up to now: reject what can never fit, route (or queue) the rest.
  loop {
    if (!(nextArr < N && le64(arrivalOf(nextArr), now))) {
      break;
    }
    let r = nextArr;
    nextArr = nextArr + 1u;
    if (promptOf(r) + outputOf(r) > fitLimit) {
      failRequest(r, arrivalOf(r), false);
      continue;
    }
    inSystem = inSystem + 1u;
    if (perStep) {
      setRq(R_STATUS, r, ST_QUEUED);
      setRq(R_GQ, gqTail, r);
      gqTail = gqTail + 1u;
    } else {
      dispatchRequest(r, arrivalOf(r));
    }
  }
  // 3. per_step: assign the whole global queue at this boundary.
  if (perStep && gqTail > 0u) {
    if (par(P_LPT) != 0u) {
      sortQueueLargestFirst();
    }
    for (var k = 0u; k < gqTail; k = k + 1u) {
      let r = rq(R_GQ, k);
      if (rq(R_STATUS, r) == ST_QUEUED) {
        dispatchRequest(r, now);
      }
    }
    gqTail = 0u;
  }
  // 4. Schedule every rank.
  var maxUs = 0u;
  var sumUs = U64(0u, 0u);
  var maxTok = 0u;
  var totTok = 0u;
  var kvSum = U64(0u, 0u);
  var rMax = 0u;
  var held = false;
  var again = false;
  // ADP Balance: one decision per boundary, after what is due (docs/model.md §3.2).
  var hold = false;
  if (adpOn) {
    hold = adpHold();
  }
  // Synchronous: the pass decides at `now`. Async: a step that follows the previous one back to
  // back was decided while that one ran, at its start; after an idle jump, or when an idle
  // group repeats its pass (below), at `now`.
  decisionAt = now;
  if (asyncOn && prevValid) {
    decisionAt = prevStart;
  }
  loop {
    decodeOnly = true;
    maxUs = 0u;
    sumUs = U64(0u, 0u);
    maxTok = 0u;
    totTok = 0u;
    kvSum = U64(0u, 0u);
    rMax = 0u;
    for (var g = 0u; g < G; g = g + 1u) {
      let tok = scheduleRank(g, hold);
      var us = 0u;
      if (tok > 0u) {
        us = rankStepUs();
      }
      sumUs = add64u(sumUs, us);
      maxUs = max(maxUs, us);
      maxTok = max(maxTok, tok);
      totTok = totTok + tok;
      kvSum = add64u(kvSum, wKvRead);
      rMax = max(rMax, wReqs);
    }
    // Async: blocks and slots released at this boundary were held for this scheduling only, and
    // hidden requests are visible from the next boundary on (docs/model.md §3.1).
    held = anyHidden;
    anyHidden = false;
    if (asyncOn && releasePending()) {
      held = true;
    }
    // An ADP hold needs decode work on every rank; should every decode have been preempted away,
    // the context work goes now rather than leave the group without a step (the pass is repeated
    // at the same decision time; what was held back for async scheduling is visible to it).
    if (totTok == 0u && hold) {
      hold = false;
      continue;
    }
    // An idle group does not wait a step for nothing: with every rank idle (so no pipeline is
    // busy any more: K_BUSY is 0 everywhere), hidden requests and released blocks count at once.
    if (totTok == 0u && held && !again) {
      again = true;
      decisionAt = now;
      continue;
    }
    break;
  }
  if (totTok == 0u) {
    // 5. Nothing runnable: every rank is empty; jump to the next arrival.
    prevValid = false;
    if (completed + failedRejected + failedTimeout >= N) {
      return true;
    }
    if (nextArr < N) {
      now = max64(now, arrivalOf(nextArr));
      return false;
    }
    errorCode = ERR_STALLED;
    return true;
  }
  let hostUs = hostStepUs(rMax);
  // Fast path: a stretch of decode-only steps with no event is advanced without touching each
  // request every step (same numbers as stepping one by one). Not while async scheduling holds
  // something back: the next boundary may admit it.
  // Not under ADP Balance either: its counters advance at every step.
  if (decodeOnly && !held && !adpOn) {
    let k = eventFreeSteps();
    if (k >= 2u) {
      fastForward(k, maxTok, totTok, kvSum, hostUs);
      return false;
    }
  }
  // 6. The barrier: the step lasts as long as the slowest rank plus the all-to-all and the host.
  let stepUs = max(1u, maxUs + allToAllUs(maxTok, totTok, kvSum) + hostUs);
  let end = add64u(now, stepUs);
  // inSystem is sampled at the step's start, before completions.
  let inSystemAtStart = inSystem;
  for (var g = 0u; g < G; g = g + 1u) {
    finishStep(g, end);
  }
  // Load balance of the step: KV tokens resident after it, weighted by its duration.
  var maxLoad = 0u;
  var sumLoad = U64(0u, 0u);
  for (var g = 0u; g < G; g = g + 1u) {
    let l = rk(K_KV, g);
    sumLoad = add64u(sumLoad, l);
    maxLoad = max(maxLoad, l);
  }
  recordStep(stepUs, maxUs, sumUs, maxLoad, sumLoad, inSystemAtStart);
  tokBalAcc = add64u(tokBalAcc, tokenBalanceFixed(totTok, maxTok));
  snapDirty = true;
  prevStart = now;
  prevValid = true;
  now = end;
  return false;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn initConfigs(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= dims.count) {
    return;
  }
  setConfig(dims.base + gid.x);
  loadConfig();
  for (var r = 0u; r < N; r = r + 1u) {
    setRq(R_ADMIT_HI, r, NONE);
    setRq(R_ADMIT_LO, r, NONE);
    setRq(R_FIRST_HI, r, NONE);
    setRq(R_FIRST_LO, r, NONE);
    setRq(R_END_HI, r, NONE);
    setRq(R_END_LO, r, NONE);
    setRq(R_QUEUED_HI, r, NONE);
    setRq(R_QUEUED_LO, r, NONE);
    setRq(R_SCHED_AT_HI, r, NONE);
    setRq(R_SCHED_AT_LO, r, NONE);
    setRq(R_RANK, r, NONE);
    setRq(R_WNEXT, r, NONE);
    setRq(R_WPREV, r, NONE);
  }
  for (var g = 0u; g < G; g = g + 1u) {
    setRk(K_WHEAD, g, NONE);
    setRk(K_WTAIL, g, NONE);
    setRk(K_FREE, g, totalBlocks);
  }
  var start = U64(0u, 0u);
  if (N > 0u) {
    start = arrivalOf(0u);
  }
  cfg[sIdx(S_NOW_LO)] = start.x;
  cfg[sIdx(S_NOW_HI)] = start.y;
  cfg[sIdx(S_SNAP_DIRTY)] = 1u;
  cfg[sIdx(S_PREV_LO)] = NONE;
  cfg[sIdx(S_PREV_HI)] = NONE;
  for (var k = 0u; k < 4u; k = k + 1u) {
    cfg[sIdx(S_RS0 + k)] = par(P_RS0 + k);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn simulateSteps(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= dims.count) {
    return;
  }
  atomicAdd(&control[CTL_RAN], 1u);
  setConfig(dims.base + gid.x);
  if (cfg[sIdx(S_DONE)] != 0u) {
    return;
  }
  loadConfig();
  loadState();
  var finished = false;
  var it = 0u;
  loop {
    if (it >= dims.maxIter) {
      break;
    }
    it = it + 1u;
    if (iterate()) {
      finished = true;
      break;
    }
    if (errorCode != ERR_NONE) {
      finished = true;
      break;
    }
  }
  storeState();
  cfg[sIdx(S_ITERATIONS)] = cfg[sIdx(S_ITERATIONS)] + it;
  if (finished) {
    cfg[sIdx(S_DONE)] = 1u;
    if (errorCode != ERR_NONE) {
      atomicAdd(&control[CTL_ERRORS], 1u);
    }
  } else {
    atomicAdd(&control[CTL_ACTIVE], 1u);
  }
}
