/**
 * The engine core: the state of one configuration (docs/model.md) that a driver advances step by
 * step. The offline CPU engine (`simulate()`) drives it as fast as it can, with a decode
 * fast-forward; the real-time emulator drives it on the wall clock. Both thus run the same
 * dispatch, scheduler, step-time model, router bookkeeping and barrier.
 *
 * Barrier mode: `beginStep(now)` handles timeouts, arrivals and dispatch that are due, schedules
 * every rank and returns the group step's duration (0 when nothing is runnable);
 * `endStep(end)` applies the step's effects and fires the events. Data-oriented: typed arrays,
 * nothing allocated per step (request arrays grow by doubling in `submit`).
 */
import type { Scenario } from '../../config/scenario.ts';
import { InputError } from '../../errors.ts';
import { LatencyHistograms, newCounters, type RunCounters } from '../../metrics/summary.ts';
import type { TimeSeries } from '../../metrics/types.ts';
import { getRouter } from '../../routers/index.ts';
import { HOLD, ROUTER_STATE_WORDS, type RouterDef } from '../../routers/types.ts';
import type { RouterParams } from '../../routers/types.ts';
import { allToAllUs, dpSyncPs, hostStepUs, PS_EXACT_DIV, psToUs, rankBasePs, rankStepPs, rankStepUs, stepModelForDp, worstCaseStepPs } from '../../model/stepTime.ts';
import type { StepModel } from '../../model/types.ts';
import { newRankPlan, scheduleRank, type RankPlan } from './scheduler.ts';
import { COMPLETES, FIRST_TOKEN, newStepEffects, type StepEffects } from './stepEffects.ts';
import { DecodeSet } from './decodeSet.ts';
import { RouterViewState } from './routerView.ts';
import { SeriesBuilder } from './timeseries.ts';
import { CoreState, DONE, FAILED, FUTURE, QUEUED, RUNNING, WAITING } from './state.ts';
import { SubView } from '../../routers/subView.ts';
import { WaveBuffer } from './wave.ts';
import { TransferQueue } from './transfers.ts';
import { makeDoubleFields } from '../../doubleFields.ts';

export interface CoreRequest {
  /** Prompt tokens, >= 1. */
  promptTokens: number;
  /**
   * Output tokens, >= 1 (the true output length). Routers never see it; only the oracle and
   * noisy predictors of the binary-cutoff projection derive their estimate from it.
   */
  outputTokens: number;
  /** Engine clock, integer µs, non-decreasing across submit() calls. */
  arrivalUs: number;
  /** Pinned rank; undefined = the router decides. */
  rank?: number;
  /**
   * Prefill/decode disaggregation (docs/pd.md): the prompt was computed elsewhere. The request
   * arrives with its first p - 1 tokens computed (their KV blocks are allocated when the rank
   * admits it); its first step computes the last prompt token and emits the first output token.
   */
  prefilled?: boolean;
  /**
   * Prefill/decode disaggregation: µs between the router's decision (the KV transfer starts) and
   * the request joining its rank's waiting queue (the transfer has ended). Absent = 0.
   */
  transferUs?: number;
}

export type Outcome = 'completed' | 'rejected' | 'timeout' | 'aborted';

export interface CoreEvents {
  onRoute?(id: number, rank: number, tUs: number): void;
  /** emitted = output tokens so far (1 = first token). Not fired inside a decode fast-forward. */
  onToken?(id: number, emitted: number, tUs: number): void;
  onFinish?(id: number, outcome: Outcome, tUs: number): void;
  onPreempt?(id: number, rank: number, tUs: number): void;
  /** The request joined rank `rank`'s waiting queue at tUs (its queued_us; vLLM queued_ts). */
  onQueued?(id: number, rank: number, tUs: number): void;
  /**
   * The request was first scheduled; tUs is its scheduled_us (vLLM scheduled_ts: under async
   * scheduling the decision time, which may precede the step that computes it). Fired while the
   * core schedules, before the step begins.
   */
  onScheduled?(id: number, rank: number, tUs: number): void;
}

export interface EngineCoreOptions {
  /** Expected number of requests (sizes the request arrays; they grow past it by doubling). */
  capacityHint?: number;
  /** Survival function of output lengths S(a) = P(o > a), for routers with projections. */
  outputSurvival?: Float64Array;
  /** Record the per-step time series. */
  timeseries?: boolean;
  /** Histograms to record completions into (reset by the core); a new set by default. */
  histograms?: LatencyHistograms;
  /**
   * Offline drivers: apply a group step's tokens while its ranks are scheduled — one walk over
   * the running requests per step instead of two — so the core must not be observed between
   * beginStep and endStep/fastForward (the emulator does: it leaves this off). Ignored with
   * `sync: independent` and with an onToken listener. Results are identical either way
   * (test/engine/differential.test.ts).
   */
  applyAtSchedule?: boolean;
  /**
   * With applyAtSchedule: keep each rank's decoding requests as aggregates (the event-driven
   * core, decodeSet.ts; docs/model.md §7.1), so a step costs O(ranks + its events) rather than
   * O(running requests). Results are identical either way
   * (test/engine/differential.test.ts).
   */
  eventCore?: boolean;
  /**
   * With eventCore, decode stretches take completions and sparse arrivals inside, the ranks
   * concerned brought up to date alone (default true; docs/model.md §7.1). Off for runs whose
   * driver must see every event at a boundary (capacity's early stop checks its SLO bounds
   * there). Results are identical either way (test/engine/differential.test.ts).
   */
  stretchEvents?: boolean;
}

export interface RankStats {
  running: number;
  waiting: number;
  kvBlocksUsed: number;
  kvBlocksTotal: number;
  preemptions: number;
  /** Prefill tokens computed (recomputation after preemption included). */
  promptTokens: number;
  generationTokens: number;
}

/** Per-request outcome, for tests and Gantt views. */
export interface RequestDetail {
  /** 4 = completed, 5 = failed. */
  status: Uint8Array;
  rank: Int32Array;
  admitUs: Float64Array;
  /** Boundary at which it joined a rank's waiting queue (vLLM queued_ts), -1 if never. */
  queuedUs: Float64Array;
  /** Time of the decision that first scheduled it (vLLM scheduled_ts), -1 if never. */
  scheduledUs: Float64Array;
  firstTokenUs: Float64Array;
  endUs: Float64Array;
}

export const REQUEST_COMPLETED = DONE;
export const REQUEST_FAILED = FAILED;

/** Shortest expected decode stretch worth the upper envelopes (runDecodeStretch). */
const ENVELOPE_MIN_STEPS = 8;

/** EngineCore's number fields that take fractions or pass 2^30 (makeDoubleFields). */
const DOUBLE_FIELDS = [
  'lastStartUs', 'lastEndUs', 'dueNow', 'clockUs', 'stepStartUs', 'stepKvRead', 'lastEventUs', 'firstArrivalUs',
  'busyUs', 'tokBalAcc', 'imbAcc', 'balAcc', 'loadWeight', 'sumRankUs', 'sumMaxRankUs', 'inSystemArea',
  'ffSumUs', 'ffDLoad0', 'ffDDecodes', 'ffDecodeMax', 'ffGroupUs', 'ffTokRatio', 'evLocalMaxUs', 'evLocalLoadMax', 'evLocalLoadSum', 'stretchLastUs',
];
/** The rank plan's fields that take values read from Float64Arrays (makeDoubleFields). */
const PLAN_DOUBLE_FIELDS = ['decodeSeqs', 'kvTokensRead', 'decodeKvMax', 'prefillAttnPairs'];

const REJECTED = 0;
const TIMED_OUT = 1;
const ABORTED = 2;
const OUTCOMES: readonly Outcome[] = ['rejected', 'timeout', 'aborted'];

export class EngineCore {
  readonly G: number;
  /** All state, for drivers and tests that need to look inside (read only outside the core). */
  readonly st: CoreState;
  readonly model: StepModel;
  private readonly basePs: number;
  private readonly exactDecodeLines: boolean;
  /** Async scheduling resolved (scenario `async_scheduling`, or the model's default). */
  readonly asyncScheduling: boolean;
  /** The DP sync term of this group size, ps (docs/model.md §5). */
  private readonly syncPs: number;
  private readonly fitLimit: number;
  private readonly timeoutUs: number;
  private readonly perStep: boolean;
  private readonly lpt: boolean;
  /** admission: adp_balance (docs/model.md §3.2) and its two waits, in group steps. */
  readonly adp: boolean;
  private readonly adpTimeoutIters: number;
  private readonly adpBatchingWaitIters: number;
  /** ADP Balance counters (TensorRT-LLM's adp_ctx_waiting_iters_count / adp_ctx_batching_wait_iters_count). */
  private adpCtxWait = 0;
  private adpBatchWait = 0;
  /** Group steps in which ADP Balance held context work (a diagnostic for tests). */
  adpHeldSteps = 0;
  private readonly router: RouterDef;
  private readonly routerName: string;
  private readonly params: RouterParams;
  private readonly rstate = new Uint32Array(ROUTER_STATE_WORDS);
  private readonly rv: RouterViewState;
  /** The router's snapshot needs the ranks' free blocks or requests (not only their KV tokens). */
  private readonly viewReadsBlocks: boolean;
  private readonly kvLag: Float64Array; // per rank: KV tokens of stretch steps not yet applied
  private readonly req = { prompt: 0, waitedUs: 0, canHold: false };
  private readonly ev: CoreEvents;
  private readonly hist: LatencyHistograms;
  private readonly ts: SeriesBuilder | undefined;
  /** KV transfers of prefilled requests (docs/pd.md); created by the first submit that has one. */
  private xfer: TransferQueue | undefined;

  /** sync: independent — each rank steps on its own clock (docs/model.md §3). */
  readonly independent: boolean;
  private readonly rankBusy: Uint8Array; // independent: a step of the rank is in flight
  private nBusy = 0;
  private readonly rankEndUs: Float64Array; // independent: end of the rank's last step (-1: none)
  private readonly rankTok: Float64Array; // tokens of each rank in the last step scheduled
  private lastStartUs = -1; // barrier: start and end of the last group step
  private lastEndUs = -1;
  private dueNow = 0; // the boundary processDue is working at
  private readonly rankStepStartUs: Float64Array;
  private readonly rankStepLenUs: Float64Array;
  private clockUs = -1; // independent: time up to which the interval counters are accumulated

  private nextArr = 0; // next request to arrive
  private timeoutPtr = 0; // next request whose deadline has not been checked
  private gqHead = 0;
  private gqTail = 0;
  /** dispatch: wave — the held requests and the wave being released (docs/model.md §4). */
  readonly wave: WaveBuffer | undefined;
  private waveOut = new Int32Array(0);
  private waveTaken = new Uint8Array(0);
  private waveView: SubView | undefined;

  // The step in flight (between beginStep and endStep).
  private readonly plan: RankPlan = newRankPlan();
  /** applyAtSchedule: the step's first tokens and completions, applied at its end. */
  private readonly fx: StepEffects | undefined;
  private readonly firstRemoved: Int32Array; // per rank: first running-list position completed, -1 if none
  /** Event-driven core: the ranks' decoding requests as aggregates (undefined: per request). */
  readonly ds: DecodeSet | undefined;
  private readonly growth = new Float64Array(2);
  private readonly groupKey = new Float64Array(3 * 64).fill(-1); // groupUs's table: (maxTok, totTok, rMax) per slot
  private readonly groupVal = new Float64Array(64);
  private stepStartUs = 0;
  private stepUs = 0;
  private stepMaxUs = 0;
  private stepSumUs = 0;
  private stepA2aUs = 0;
  private stepHostUs = 0;
  private stepMaxTok = 0;
  private stepTotTok = 0;
  private stepKvRead = 0; // KV tokens read by all ranks (the mean-KV group term)
  private stepInSystem = 0;
  private decodeOnly = true; // every scheduled token is a decode token, no preemption
  private readonly rankUs: Float64Array;
  // Per-rank decode aggregates of the step, for fast-forwarding decode-only stretches.
  private readonly decodeSeqsOf: Float64Array;
  private readonly kvReadOf: Float64Array;
  private readonly decodeKvMaxOf: Float64Array; // longest decode context per rank (skew term)
  private readonly loadScratch: Float64Array;
  private readonly ffBase: Float64Array; // step ps of rank g in a decode-only stretch: ffBase + j * ffSlope
  private readonly ffSlope: Float64Array;
  private readonly ffActive: Int32Array; // ranks with decode work in the stretch
  // Events inside an envelope stretch (runAffineStretch with events; docs/model.md §7.1).
  private readonly throughOk: boolean; // this core may take them (event core, applied steps, no listener)
  private readonly ffLoad: Float64Array; // KV load of rank g after stretch step j: ffLoad + j * decodes
  private readonly ffSeg: Float64Array; // first step of rank g's current step-time line
  private readonly ffApplied: Float64Array; // stretch steps already applied to rank g's state
  private readonly evAt: Float64Array; // stretch step of rank g's next completion taken inside (Infinity: none)
  private readonly evLast: Float64Array; // stretch step of rank g's last event (-1: none)
  private readonly evDecodes: Float64Array; // rank g's tokens in that step
  private readonly seq0: Float64Array; // rank g's scheduling pass number at the stretch's first step
  private readonly local: Uint8Array; // rank g is scheduled step by step inside the stretch (1; 2: from joinAt, on its line until then)
  private nLocal = 0; // ranks with local 1 or 2
  private joinAt = -1; // stretch step from which the ranks with local 2 are scheduled step by step (-1: none)
  private nPending = 0; // ranks with local 2, in pending[0, nPending)
  private readonly pending: Int32Array;
  private ffSumUs = 0; // µs of lines that ended inside the stretch (runAffineStretch's staircase)

  // Run counters.
  completed = 0;
  failedRejected = 0;
  failedTimeout = 0;
  aborted = 0;
  outputTokens = 0;
  steps = 0;
  /** Steps advanced by fastForward (a diagnostic: the differential test checks it is exercised). */
  fastForwardedSteps = 0;
  /** Of those, steps advanced by the affine envelope (runAffineStretch; a diagnostic for the differential test). */
  envelopeSteps = 0;
  /** Times the line on top of a stretch's step-time or load envelope changed (a diagnostic). */
  envelopeSwitches = 0;
  /** Steps of envelope stretches with events taken inside (completions, arrivals and their ranks' own steps; a diagnostic). */
  stretchEventSteps = 0;
  /** Of those, boundaries at which arrivals were routed inside a stretch (a diagnostic). */
  stretchArrivals = 0;
  /** Ranks whose arrival, hidden from the next pass, kept them on their line one more step (a diagnostic). */
  stretchJoins = 0;
  private busyUs = 0;
  /** Sum over busy group steps of mean / max tokens scheduled per rank (TensorRT-LLM's balance ratio). */
  private tokBalAcc = 0;
  private imbAcc = 0;
  private balAcc = 0;
  private loadWeight = 0;
  private sumRankUs = 0;
  private sumMaxRankUs = 0;
  inSystem = 0;
  private inSystemArea = 0;
  private lastEventUs = 0;
  private firstArrivalUs = 0;

  constructor(sc: Scenario, model: StepModel, events: CoreEvents = {}, opts: EngineCoreOptions = {}) {
    const G = sc.dp;
    this.G = G;
    model = stepModelForDp(model, G); // the model's terms for this DP size (calibrated models)
    this.model = model;
    if (worstCaseStepPs(model, sc.maxNumSeqs, sc.maxBatchedTokens, sc.maxModelLen, G) >= 2 ** 53) {
      throw new InputError('model', model.name, 'step-time coefficients too large for exact integer arithmetic at these limits');
    }
    this.basePs = rankBasePs(model, G);
    // A decode-only step's ps is affine in the stretch step, slope perKvTokenRead per decode (the
    // skew term's step terms cancel); with integer terms every value is an exact integer (below
    // 2^53, checked above), so a line needs one evaluation.
    this.exactDecodeLines = [this.basePs, model.perDecodeSeq, model.perKvTokenRead, model.perDecodeSkewToken].every(Number.isInteger);
    this.asyncScheduling = resolveAsyncScheduling(sc, model);
    this.syncPs = dpSyncPs(model, G, sc.ranksPerNode ?? 8);
    const totalBlocks = Math.floor(sc.kvCapacity / sc.blockSize);
    // The event core (applied steps, offline) needs room for the holes it leaves in the lists.
    const eventCore = !!opts.eventCore && !!opts.applyAtSchedule && sc.sync !== 'independent' && !events.onToken;
    this.st = new CoreState(G, sc.maxNumSeqs, sc.maxBatchedTokens, sc.blockSize, totalBlocks, opts.capacityHint ?? 1024, this.asyncScheduling, eventCore ? 2 * sc.maxNumSeqs : sc.maxNumSeqs);
    this.fitLimit = Math.min(totalBlocks * sc.blockSize, sc.maxModelLen);
    this.timeoutUs = Math.round(sc.timeoutS * 1e6);
    this.perStep = sc.dispatch === 'per_step';
    this.independent = sc.sync === 'independent';
    if (this.independent && this.perStep) {
      throw new InputError('dispatch', sc.dispatch, 'per_step dispatch assigns at the group step boundary; sync: independent has none (use on_arrival)');
    }
    this.ev = events;
    this.st.onPreempt = events.onPreempt;
    this.st.onScheduled = events.onScheduled;

    this.router = getRouter(sc.router);
    this.routerName = sc.router;
    this.lpt = sc.assignOrder === 'lpt' || this.router.queueOrder === 'largest_first';
    if (this.router.requiresDispatch !== undefined && sc.dispatch !== this.router.requiresDispatch) {
      throw new InputError('dispatch', sc.dispatch, `router ${sc.router} deals the global queue at step boundaries: it needs dispatch: ${this.router.requiresDispatch}`);
    }
    this.adp = (sc.admission ?? 'none') === 'adp_balance';
    if (this.adp && this.independent) {
      throw new InputError('admission', sc.admission, "adp_balance synchronises the ranks' context work at the group step; sync: independent has none (use sync: barrier)");
    }
    this.adpTimeoutIters = sc.adpTimeoutIters ?? 50;
    this.adpBatchingWaitIters = sc.adpBatchingWaitIters ?? 10;
    this.params = sc.routerParams;
    this.router.init(this.rstate, sc.workload.seed, G);
    const surv = opts.outputSurvival ?? new Float64Array(0);
    const horizon = this.router.horizon(this.params, surv);
    this.rv = new RouterViewState(
      this.st,
      this.router.projection(this.params),
      horizon,
      surv,
      sc.workload.seed,
      Math.round(sc.statsIntervalMs * 1000),
    );
    const reads = this.router.reads; // (none declared: every field)
    this.viewReadsBlocks = reads === undefined || reads.includes('kvUsage') || this.rv.readsRequests;
    this.kvLag = new Float64Array(G);
    if (sc.dispatch === 'wave') {
      this.wave = new WaveBuffer(G, Math.round((sc.waveTimeoutMs ?? 100) * 1000));
      this.waveOut = new Int32Array(G);
      this.waveTaken = new Uint8Array(G);
      this.waveView = new SubView(this.rv.view);
    }

    this.rankUs = new Float64Array(G);
    this.decodeSeqsOf = new Float64Array(G);
    this.kvReadOf = new Float64Array(G);
    this.decodeKvMaxOf = new Float64Array(G);
    this.loadScratch = new Float64Array(G);
    this.ffBase = new Float64Array(G);
    this.ffSlope = new Float64Array(G);
    this.ffActive = new Int32Array(G);
    this.ffLoad = new Float64Array(G);
    this.ffSeg = new Float64Array(G);
    this.ffApplied = new Float64Array(G);
    this.evAt = new Float64Array(G).fill(Infinity);
    this.evLast = new Float64Array(G);
    this.evDecodes = new Float64Array(G);
    this.seq0 = new Float64Array(G);
    this.local = new Uint8Array(G);
    this.pending = new Int32Array(G);
    this.chg = new Int32Array(G);
    const words = (G + 31) >>> 5;
    this.localBits = new Uint32Array(words);
    this.evBits = new Uint32Array(words);
    this.stepBits = new Uint32Array(words);
    this.rankBusy = new Uint8Array(G);
    this.rankStepStartUs = new Float64Array(G);
    this.rankStepLenUs = new Float64Array(G);
    this.rankEndUs = new Float64Array(G).fill(-1);
    this.rankTok = new Float64Array(G);
    this.hist = opts.histograms ?? new LatencyHistograms();
    this.hist.reset(model.frontend);
    this.ts = opts.timeseries ? new SeriesBuilder() : undefined;
    // Starts small and grows to the largest step's first tokens and completions (about 20 at
    // saturation, DP 8), rather than one entry per running slot (G * max_num_seqs).
    this.fx = opts.applyAtSchedule && !this.independent && !events.onToken ? newStepEffects(8) : undefined;
    this.firstRemoved = new Int32Array(this.fx ? G : 0).fill(-1);
    this.ds =
      eventCore ? new DecodeSet(this.st, sc.maxNumSeqs, sc.blockSize, model.perDecodeSkewToken !== 0, this.st.cap) : undefined;
    this.rv.ds = this.ds;
    // Events taken inside a stretch must look exactly as at a boundary: no listener to observe
    // the skipped boundaries (and no KV transfers, checked per stretch).
    const listened = !!(events.onRoute || events.onToken || events.onFinish || events.onPreempt || events.onQueued || events.onScheduled);
    this.throughOk = this.ds !== undefined && this.fx !== undefined && !listened && opts.stretchEvents !== false;
    // Times in µs and floating-point accumulators: doubles before the hot code sees them.
    makeDoubleFields(this, DOUBLE_FIELDS);
    makeDoubleFields(this.plan, PLAN_DOUBLE_FIELDS);
    makeDoubleFields(this.req, ['waitedUs']);
  }

  // ---- requests in and out ----

  /** Add a request; it arrives (is routed or rejected) at the first step boundary at or after arrivalUs. */
  submit(q: CoreRequest): number {
    const st = this.st;
    const r = st.n;
    if (r > 0 && q.arrivalUs < st.arrival[r - 1]) throw new Error(`submit: arrival ${q.arrivalUs} before the previous one (${st.arrival[r - 1]})`);
    if (q.rank !== undefined && !(Number.isInteger(q.rank) && q.rank >= 0 && q.rank < this.G)) {
      throw new InputError('rank', q.rank, `must be an integer in [0, ${this.G - 1}]`);
    }
    st.grow(r + 1);
    st.arrival[r] = q.arrivalUs;
    st.prompt[r] = q.promptTokens;
    st.output[r] = q.outputTokens;
    if (q.rank !== undefined) {
      st.enablePins();
      st.pin[r] = q.rank;
    }
    st.status[r] = FUTURE;
    if (q.prefilled) st.computed[r] = q.promptTokens - 1;
    if (q.transferUs !== undefined && q.transferUs > 0) {
      if (!this.xfer) {
        this.xfer = new TransferQueue(this.G);
        this.rv.transfers = this.xfer;
      }
      this.xfer.set(r, q.transferUs);
    }
    if (r === 0) this.firstArrivalUs = q.arrivalUs;
    st.n = r + 1;
    return r;
  }

  /** The client went away at tUs: the request leaves wherever it is and its KV blocks are freed. */
  abort(id: number, tUs: number): void {
    if (!(id >= 0 && id < this.st.n)) return;
    const s = this.st.status[id];
    if (s === DONE || s === FAILED) return;
    if (s === QUEUED) {
      this.inSystem--;
      this.fail(id, tUs, ABORTED);
    } else if (s === WAITING || s === RUNNING) {
      this.leave(id, tUs, ABORTED);
    } else {
      this.fail(id, tUs, ABORTED); // not arrived yet: skipped at its arrival
    }
  }

  /**
   * Rank g's share of the step begun last: tokens scheduled (prefill chunks plus decodes) and
   * decodes among them. For per-step analyses (scripts/adp-balance.ts); 0 before any step.
   */
  lastStepOf(g: number): { tokens: number; decodes: number } {
    return { tokens: this.rankTok[g], decodes: this.decodeSeqsOf[g] };
  }

  /** Every submitted request has completed or failed. */
  done(): boolean {
    return this.completed + this.failedRejected + this.failedTimeout + this.aborted === this.st.n;
  }

  /** Requests whose arrival has been processed (in arrival order): routed, queued or rejected. */
  get arrived(): number {
    return this.nextArr;
  }

  /**
   * Whether a routed request can still fail in the offline driver (client timeouts); otherwise it
   * will complete. (Aborts come only from the emulator's clients.)
   */
  get routedCanFail(): boolean {
    return this.timeoutUs > 0;
  }

  /** Arrival time of the next request not yet arrived, or -1. */
  nextArrivalUs(): number {
    const a = this.nextArr < this.st.n ? this.st.arrival[this.nextArr] : -1;
    // Wave dispatch: a partial wave's timeout is an event too (a release, like an arrival).
    const d = this.wave ? this.wave.deadline(this.st.arrival, this.isHeld) : -1;
    const ad = d < 0 ? a : a < 0 || d < a ? d : a;
    // A KV transfer that ends brings work as an arrival does (docs/pd.md).
    const x = this.xfer ? this.xfer.nextEndUs() : -1;
    return x >= 0 && (ad < 0 || x < ad) ? x : ad;
  }

  /** Start and end of request r's KV transfer (docs/pd.md); -1 when it had none (yet). */
  transferOf(r: number): { startUs: number; endUs: number } {
    const x = this.xfer;
    return x && x.has(r) ? { startUs: x.startUs[r], endUs: x.endUs[r] } : { startUs: -1, endUs: -1 };
  }

  // ---- barrier mode ----

  /**
   * Start the group step at `now`: timeouts, arrivals and dispatch due at `now`, then schedule
   * every rank. Returns the step's duration in µs, or 0 when no rank has anything to run.
   */
  beginStep(now: number): number {
    if (this.independent) throw new Error('beginStep: this core steps its ranks independently (beginRankStep)');
    const st = this.st;
    const G = this.G;
    const plan = this.plan;
    let maxUs = 0;
    let sumUs = 0;
    let maxTok = 0;
    let totTok = 0;
    let totKv = 0;
    let rMax = 0;
    let released = false;
    // Async scheduling: the decision for a step that follows the previous one back to back was
    // taken while that step ran (scheduled_us; docs/model.md §8).
    const decision = this.asyncScheduling && this.lastEndUs === now ? this.lastStartUs : now;
    const fx = this.fx;
    const ds = this.ds;
    if (ds !== undefined && ds.cap < st.cap) ds.grow(st.cap);
    let decided = false;
    let hold = false;
    for (;;) {
      this.processDue(now);
      // ADP Balance: one decision per boundary, after what is due (docs/model.md §3.2).
      if (this.adp) {
        hold = !decided && this.adpHold();
        decided = true;
      }
      if (fx) fx.n = 0;
      this.decodeOnly = true;
      maxUs = 0;
      sumUs = 0;
      maxTok = 0;
      totTok = 0;
      totKv = 0;
      rMax = 0;
      for (let g = 0; g < G; g++) {
        st.decisionUs[g] = released ? now : decision;
        const tok = scheduleRank(st, g, now, plan, fx, hold, ds);
        this.rankTok[g] = tok;
        if (plan.seqs > rMax) rMax = plan.seqs;
        const us = tok > 0 ? rankStepUs(this.model, this.basePs, plan) : 0;
        this.rankUs[g] = us;
        sumUs += us;
        if (us > maxUs) maxUs = us;
        if (tok > maxTok) maxTok = tok;
        totTok += tok;
        totKv += plan.kvTokensRead;
        this.decodeSeqsOf[g] = plan.decodeSeqs;
        this.kvReadOf[g] = plan.kvTokensRead;
        this.decodeKvMaxOf[g] = plan.decodeKvMax;
        if (plan.preempted || plan.prefillTokens > 0 || plan.decodeSeqs !== st.nRun[g]) this.decodeOnly = false;
        // Applied: every running request advanced by exactly one decode token (fastForward's shift).
        else if (fx && plan.emitted !== plan.decodeSeqs) this.decodeOnly = false;
      }
      // Held requests with every rank idle go at once (a hold never waits for an arrival).
      if (totTok === 0 && this.gqTail > this.gqHead) continue;
      // An ADP hold needs decode work on every rank; should every decode have been preempted
      // away, the context work goes now rather than leave the group without a step.
      if (totTok === 0 && hold) continue;
      // Async scheduling, rule 4: an idle group does not wait a step for hidden requests or
      // held frees; they are released now and the ranks scheduled again.
      if (totTok === 0 && this.asyncScheduling && !released && this.anyLagging()) {
        for (let g = 0; g < G; g++) st.releasePending(g);
        released = true;
        continue;
      }
      break;
    }
    if (totTok === 0) return 0;
    if (hold) this.adpHeldSteps++;
    this.stepStartUs = now;
    this.stepMaxUs = maxUs;
    this.stepSumUs = sumUs;
    this.stepMaxTok = maxTok;
    this.stepTotTok = totTok;
    this.stepKvRead = totKv;
    this.stepA2aUs = allToAllUs(this.model, maxTok, totTok, totKv, G);
    this.stepHostUs = hostStepUs(this.model, rMax, this.syncPs);
    // The barrier: the step lasts as long as the slowest rank plus the all-to-all and the host time.
    this.stepUs = Math.max(1, maxUs + this.stepA2aUs + this.stepHostUs);
    // inSystem is sampled at the step's start, before completions.
    this.stepInSystem = this.inSystem;
    return this.stepUs;
  }

  /** Apply the step begun by beginStep, ending at endUs: tokens, completions, events. */
  endStep(endUs: number): void {
    const st = this.st;
    const G = this.G;
    if (this.fx) this.applyEffects(endUs);
    else for (let g = 0; g < G; g++) this.finishRankStep(g, endUs);
    // Load balance of the step: KV tokens resident after it, weighted by its duration.
    let maxLoad = 0;
    let sumLoad = 0;
    for (let g = 0; g < G; g++) {
      const l = st.kvTok[g];
      sumLoad += l;
      if (l > maxLoad) maxLoad = l;
    }
    this.recordStep(this.stepUs, this.stepMaxUs, this.stepSumUs, maxLoad, sumLoad, this.stepInSystem);
    this.tokBalAcc += this.stepTotTok / G / this.stepMaxTok;
    if (this.ts) this.ts.add(this.steps - 1, this.stepStartUs, this.stepUs, 0, G, st.kvTok, st.nRun, st.nWaiting, this.rankUs);
    this.lastStartUs = this.stepStartUs;
    this.lastEndUs = endUs;
    this.rv.dirty = true;
  }

  /**
   * Decode fast-forward (offline driver option): when the step just begun is decode-only and a
   * stretch of such steps has no event (no completion, admission, preemption, new KV block
   * needed beyond what is free), advance the whole stretch from aggregates — the same numbers as
   * stepping one by one. Stops at the first boundary at or after an arrival or a timeout
   * deadline. Returns the new time, or -1 when the step must be taken normally (endStep).
   * Does not fire onToken.
   */
  fastForward(now: number): number {
    if (!this.decodeOnly || this.gqTail !== this.gqHead) return -1;
    // Held wave requests: the next boundary may release them (at a wave timeout).
    if (this.wave && this.wave.size > 0) return -1;
    // ADP Balance decides at every boundary (its counters advance each step): no stretch.
    if (this.adp) return -1;
    // (Held requests make every boundary a decision point: no fast-forward then. Nor do requests
    // hidden by async scheduling, or held frees on a rank with waiting requests: at the next
    // boundary they may admit.)
    if (this.asyncScheduling && this.lagBlocksStretch()) return -1;
    // With the step's tokens applied at scheduling (and none of its effects pending: a decode-only
    // step with k >= 2 has neither a first token nor a completion), the state is one step ahead.
    const shift = this.fx ? 1 : 0;
    if (this.fx && this.fx.n > 0) return -1;
    const k = this.eventFreeSteps(shift);
    if (k < 2) return -1;
    return this.runDecodeStretch(k, now, shift);
  }

  // ---- independent mode (sync: independent) ----

  /**
   * Timeouts and arrivals due at `now` (idempotent at one time). In independent mode the driver
   * calls it at every arrival, so that a request is routed when it arrives even while every rank
   * is mid-step; beginRankStep and endRankStep call it too.
   */
  process(now: number): void {
    if (this.independent) this.advanceClock(now);
    this.processDue(now);
  }

  /**
   * Start a step of rank g alone at `now` (independent mode): what is due is processed, the rank
   * is scheduled, and its step lasts max(1, t_g + group part of its own tokens) µs — the group
   * terms evaluated as for a group of one (no barrier, no collective with the others). Returns
   * 0 when the rank has nothing to run.
   */
  beginRankStep(g: number, now: number): number {
    if (!this.independent) throw new Error('beginRankStep: this core runs a barrier (beginStep)');
    if (this.rankBusy[g]) throw new Error(`beginRankStep: rank ${g} is mid-step`);
    this.process(now);
    const plan = this.plan;
    const st = this.st;
    // Async: the decision for a step that follows the rank's previous one was taken during it.
    st.decisionUs[g] = this.asyncScheduling && this.rankEndUs[g] === now ? this.rankStepStartUs[g] : now;
    let tok = scheduleRank(st, g, now, plan);
    if (tok === 0 && this.asyncScheduling && st.lagging(g)) {
      // Rule 4 for a rank on its own clock: an idle rank does not wait a step for nothing.
      st.releasePending(g);
      st.decisionUs[g] = now;
      tok = scheduleRank(st, g, now, plan);
    }
    this.rankTok[g] = tok;
    if (tok === 0) return 0;
    const us = rankStepUs(this.model, this.basePs, plan);
    // Group terms as for a group of one: no barrier, no DP sync.
    const len = Math.max(1, us + allToAllUs(this.model, tok, tok, plan.kvTokensRead, 1) + hostStepUs(this.model, plan.seqs, 0));
    this.rankUs[g] = us;
    this.rankStepStartUs[g] = now;
    this.rankStepLenUs[g] = len;
    this.rankBusy[g] = 1;
    this.nBusy++;
    return len;
  }

  /** Apply rank g's step, ending at endUs (independent mode). */
  endRankStep(g: number, endUs: number): void {
    if (!this.rankBusy[g]) throw new Error(`endRankStep: rank ${g} has no step in flight`);
    this.advanceClock(endUs);
    this.finishRankStep(g, endUs);
    this.rankBusy[g] = 0;
    this.rankEndUs[g] = endUs;
    this.nBusy--;
    this.steps++;
    // No barrier: a rank never waits for another, so idle_frac is 0 by definition.
    this.sumRankUs += this.rankUs[g];
    this.sumMaxRankUs += this.rankUs[g];
    const st = this.st;
    if (this.ts) this.ts.add(this.steps - 1, this.rankStepStartUs[g], this.rankStepLenUs[g], g, g + 1, st.kvTok, st.nRun, st.nWaiting, this.rankUs);
    this.rv.dirty = true;
  }

  /**
   * Independent mode: accumulate the time-weighted counters over [clock, t) with the state as it
   * stood there — busy time (some rank mid-step), requests in the system, and the KV load
   * balance across ranks while some rank is busy.
   */
  private advanceClock(t: number): void {
    if (this.clockUs < 0) this.clockUs = t;
    const dt = t - this.clockUs;
    if (dt <= 0) return;
    this.clockUs = t;
    this.inSystemArea += this.inSystem * dt;
    if (this.nBusy === 0) return;
    this.busyUs += dt;
    const kv = this.st.kvTok;
    let maxLoad = 0;
    let sumLoad = 0;
    for (let g = 0; g < this.G; g++) {
      sumLoad += kv[g];
      if (kv[g] > maxLoad) maxLoad = kv[g];
    }
    if (maxLoad > 0) {
      const mean = sumLoad / this.G;
      this.imbAcc += (dt * (maxLoad - mean)) / mean;
      this.balAcc += (dt * mean) / maxLoad;
      this.loadWeight += dt;
    }
  }

  // ---- observability ----

  rankStats(g: number): RankStats {
    const st = this.st;
    return {
      running: st.nRun[g],
      waiting: st.nWaiting[g],
      kvBlocksUsed: st.usedBlocks(g),
      kvBlocksTotal: st.totalBlocks,
      preemptions: st.preemptionsOf[g],
      promptTokens: st.promptTokOf[g],
      generationTokens: st.genTokOf[g],
    };
  }

  /** Counters of the run so far, for `summarize`. */
  counters(): RunCounters {
    const c = newCounters(this.st.n);
    c.completed = this.completed;
    c.failedRejected = this.failedRejected;
    c.failedTimeout = this.failedTimeout + this.aborted;
    c.preemptions = this.st.preemptions;
    c.outputTokens = this.outputTokens;
    c.steps = this.steps;
    c.busyUs = this.busyUs;
    c.imbalanceAcc = this.imbAcc;
    c.balanceAcc = this.balAcc;
    // Per group step; rank steps on their own clocks (sync: independent) have no such ratio.
    c.tokenBalanceAcc = this.independent ? NaN : this.tokBalAcc;
    c.loadWeightUs = this.loadWeight;
    c.sumRankUs = this.sumRankUs;
    c.sumMaxRankUs = this.sumMaxRankUs;
    c.inSystemAreaUs = this.inSystemArea;
    c.firstArrivalUs = this.firstArrivalUs;
    c.lastEventUs = this.lastEventUs;
    c.asyncScheduling = this.asyncScheduling;
    return c;
  }

  histograms(): LatencyHistograms {
    return this.hist;
  }

  timeseries(): TimeSeries | undefined {
    return this.ts?.build();
  }

  /** Per-request outcome arrays (length n). */
  detail(): RequestDetail {
    const st = this.st;
    const n = st.n;
    const cut = <T extends Uint8Array | Int32Array | Float64Array>(a: T): T => (a.length === n ? a : (a.slice(0, n) as T));
    return {
      status: cut(st.status),
      rank: Int32Array.from(st.rankOf.subarray(0, n)),
      admitUs: cut(st.admitUs),
      queuedUs: cut(st.queuedUs),
      scheduledUs: cut(st.schedUs),
      firstTokenUs: cut(st.firstUs),
      endUs: cut(st.endUs),
    };
  }

  // ---- internals ----

  /**
   * ADP Balance (TensorRT-LLM's attention_dp_config enable_balance; docs/model.md §3.2): whether
   * the group step starting now holds every rank's context work. Advances the two counters.
   */
  private adpHold(): boolean {
    const st = this.st;
    const { run, nRun, prompt, generated, computed, blocks, freeBlocks, hiddenSeq, BS, B } = st;
    let allCtx = true;
    let anyCtx = false;
    let allGen = true;
    let allFree = true;
    for (let g = 0; g < this.G; g++) {
      // Decode requests and context work of rank g, as its next pass would see them.
      let gen = 0;
      let ctx = false;
      const base = g * st.RS;
      let i0 = 0;
      if (this.ds !== undefined) {
        // The event core's decoding prefix (and its holes): all decode requests.
        gen = this.ds.nD[g];
        i0 = gen + st.holes[g];
      }
      const end = nRun[g] + st.holes[g];
      for (let i = i0; i < end; i++) {
        const r = run[base + i];
        if (generated[r] > 0 && prompt[r] + generated[r] - computed[r] === 1) gen++;
        else ctx = true;
      }
      if (!ctx && st.nWaiting[g] > 0) {
        // Slots and blocks as the pass will see them: frees due at its start are free (§3.1 rule 2).
        const held = st.heldAtNextPass(g);
        if (nRun[g] + held.slots < B) {
          const r = st.wHead[g];
          const left = prompt[r] + generated[r] - computed[r];
          const chunk = left < st.M ? left : st.M;
          const free = freeBlocks[g] + (st.pendBlocksCur[g] + st.pendBlocksPrev[g] - held.blocks);
          ctx = hiddenSeq[r] < st.schedSeq[g] + 1 && Math.ceil((computed[r] + chunk) / BS) - blocks[r] <= free;
        }
      }
      if (ctx) anyCtx = true;
      else allCtx = false;
      if (gen === 0) allGen = false;
      if (gen >= B) allFree = false;
    }
    if (allFree && allCtx) {
      this.adpCtxWait = 0;
      if (!allGen) return false;
      if (this.adpBatchWait < this.adpBatchingWaitIters) {
        this.adpBatchWait++;
        return true;
      }
      this.adpBatchWait = 0;
      return false;
    }
    // The counter advances whether or not any rank has context work (as in TensorRT-LLM); a
    // step without context work holds nothing.
    this.adpCtxWait++;
    if (this.adpCtxWait >= this.adpTimeoutIters || !allGen) {
      this.adpCtxWait = 0;
      return false;
    }
    return anyCtx;
  }

  /** Timeouts, arrivals and per_step dispatch due at `now` (docs/model.md §3, steps 1-3). */
  private processDue(now: number): void {
    const st = this.st;
    this.dueNow = now;
    const { arrival, status, prompt, output, pin, pins } = st;
    // 1. Client timeouts (deadlines are in arrival order).
    const timeoutUs = this.timeoutUs;
    if (timeoutUs > 0) {
      while (this.timeoutPtr < this.nextArr && arrival[this.timeoutPtr] + timeoutUs <= now) {
        const r = this.timeoutPtr++;
        const s = status[r];
        if (s === QUEUED) {
          this.inSystem--;
          this.fail(r, now, TIMED_OUT);
        } else if (s === WAITING || s === RUNNING) {
          this.leave(r, now, TIMED_OUT);
        }
      }
    }
    // 2. Arrivals up to now: reject what can never fit, route the rest.
    const n = st.n;
    while (this.nextArr < n && arrival[this.nextArr] <= now) {
      const r = this.nextArr++;
      if (status[r] === FAILED) continue; // aborted before it arrived
      if (prompt[r] + output[r] > this.fitLimit) {
        this.fail(r, arrival[r], REJECTED);
        continue;
      }
      this.inSystem++;
      if (pins && pin[r] >= 0) {
        this.rv.beforeDecision(st, arrival[r]);
        this.place(r, pin[r], arrival[r]);
      } else if (this.perStep) {
        status[r] = QUEUED;
        if (this.gqTail === st.gq.length) st.growGlobalQueue();
        st.gq[this.gqTail++] = r;
      } else if (this.wave) {
        status[r] = QUEUED;
        this.wave.hold(r);
      } else {
        this.dispatch(r, arrival[r], false);
      }
    }
    // 3. per_step: assign the whole global queue at this step boundary.
    if (this.perStep && this.gqHead < this.gqTail) {
      const gq = st.gq;
      if (this.lpt) sortQueueLargestFirst(gq, this.gqHead, this.gqTail, prompt);
      // A router may hold requests for a later boundary, but not while every rank is idle.
      let busy = false;
      for (let g = 0; g < this.G && !busy; g++) busy = !st.rankEmpty(g);
      let kept = 0;
      for (let k = this.gqHead; k < this.gqTail; k++) {
        const r = gq[k];
        if (status[r] === QUEUED && !this.dispatch(r, now, busy)) gq[kept++] = r;
      }
      this.gqHead = 0;
      this.gqTail = kept;
    }
    // 3'. wave: release every wave that has closed by now.
    if (this.wave) this.releaseWaves(now);
    // 4. KV transfers that have ended by now (those just started included): their requests join
    // their ranks' waiting queues, in the order the transfers ended (docs/pd.md).
    if (this.xfer) {
      for (let r = this.xfer.takeEnded(now); r >= 0; r = this.xfer.takeEnded(now)) {
        const g = st.rankOf[r];
        this.xfer.count[g]--;
        this.xfer.tokens[g] -= prompt[r];
        if (status[r] !== QUEUED) continue; // timed out or aborted in flight
        this.enqueue(r, g);
        this.rv.dirty = true;
        if (this.ev.onQueued) this.ev.onQueued(r, g, now);
      }
    }
  }

  private readonly isHeld = (r: number): boolean => this.st.status[r] === QUEUED;

  /**
   * Wave dispatch: route the members of each wave closed by `now`, in arrival order, each to the
   * router's choice among the ranks not yet given one in this wave (docs/model.md §4).
   */
  private releaseWaves(now: number): void {
    const st = this.st;
    const w = this.wave!;
    const req = this.req;
    for (let n = w.next(now, st.arrival, this.isHeld, this.waveOut); n > 0; n = w.next(now, st.arrival, this.isHeld, this.waveOut)) {
      const t = w.releaseUs;
      this.waveTaken.fill(0);
      for (let k = 0; k < n; k++) {
        const r = this.waveOut[k];
        this.rv.beforeDecision(st, t);
        const view = this.waveView!.of(this.rv.view, this.waveTaken);
        req.prompt = st.prompt[r];
        req.waitedUs = t - st.arrival[r];
        req.canHold = false;
        const c = this.router.route(view, req, this.params, this.rstate);
        if (!(c >= 0 && c < view.G && Number.isInteger(c))) throw new Error(`router ${this.routerName} returned rank ${c} (G=${view.G})`);
        const g = this.waveView!.idx[c];
        this.waveTaken[g] = 1;
        this.place(r, g, t);
      }
    }
  }

  /**
   * Route request r at time t: choose a rank and enqueue it there. Returns false when the router
   * holds it in the global queue (per_step dispatch only).
   */
  private dispatch(r: number, t: number, canHold: boolean): boolean {
    const st = this.st;
    this.rv.beforeDecision(st, t);
    const req = this.req;
    req.prompt = st.prompt[r];
    req.waitedUs = t - st.arrival[r];
    req.canHold = canHold;
    const g = this.router.route(this.rv.view, req, this.params, this.rstate);
    if (g === HOLD && canHold) return false;
    if (!(g >= 0 && g < this.G && Number.isInteger(g))) {
      throw new Error(`router ${this.routerName} returned rank ${g} (G=${this.G})`);
    }
    this.place(r, g, t);
    return true;
  }

  /** Append request r to rank g's waiting queue at time t, with the router's bookkeeping. */
  private place(r: number, g: number, t: number): void {
    const st = this.st;
    st.rankOf[r] = g;
    if (this.xfer && this.xfer.has(r)) {
      // Its KV is on the way (docs/pd.md): it joins the waiting queue when the transfer ends.
      st.status[r] = QUEUED;
      this.xfer.start(r, g, t, st.prompt[r]);
      st.inflight[g] += 1;
      this.rv.afterRoute(st, g, r);
      if (this.ev.onRoute) this.ev.onRoute(r, g, t);
      return;
    }
    this.enqueue(r, g);
    st.inflight[g] += 1;
    // Optimistic bookkeeping: the router's copy sees exactly what the request adds.
    this.rv.afterRoute(st, g, r);
    if (this.ev.onRoute) this.ev.onRoute(r, g, t);
    if (this.ev.onQueued) this.ev.onQueued(r, g, this.dueNow);
  }

  /** Request r joins rank g's waiting queue at the boundary being processed (its queued_us). */
  private enqueue(r: number, g: number): void {
    const st = this.st;
    st.status[r] = WAITING;
    st.pushWaitingTail(g, r);
    const now = this.dueNow;
    st.queuedUs[r] = now;
    // Async scheduling, rule 1: behind a busy step of its rank, the request misses the next pass
    // (its decision was taken before the request came; docs/model.md §3).
    if (this.asyncScheduling && this.rankTok[g] > 0 && (this.independent ? this.rankBusy[g] === 1 || this.rankEndUs[g] === now : this.lastEndUs === now)) {
      const hide = st.schedSeq[g] + 1;
      st.hiddenSeq[r] = hide;
      st.hidUntil[g] = hide;
    }
  }

  /** A rank has hidden requests, or held frees and waiting requests (no decode fast-forward). */
  private lagBlocksStretch(): boolean {
    const st = this.st;
    for (let g = 0; g < this.G; g++) if (st.nWaiting[g] > 0 && st.lagging(g)) return true;
    return false;
  }

  /** Some rank holds frees or has requests hidden from its current pass (async scheduling). */
  private anyLagging(): boolean {
    for (let g = 0; g < this.G; g++) if (this.st.lagging(g)) return true;
    return false;
  }

  private fail(r: number, t: number, reason: number): void {
    const st = this.st;
    st.status[r] = FAILED;
    st.endUs[r] = t;
    if (reason === REJECTED) this.failedRejected++;
    else if (reason === TIMED_OUT) this.failedTimeout++;
    else this.aborted++;
    if (t > this.lastEventUs) this.lastEventUs = t;
    if (this.ev.onFinish) this.ev.onFinish(r, OUTCOMES[reason], t);
  }

  /** Request r leaves its rank at time t (timeout or abort), wherever it is there. */
  private leave(r: number, t: number, reason: number): void {
    const st = this.st;
    const g = st.rankOf[r];
    if (st.status[r] === WAITING) {
      st.unlinkWaiting(g, r);
    } else if (st.status[r] === RUNNING) {
      // Event core: the rank's members written out, or at least its list without holes.
      if (this.ds !== undefined) {
        if (this.ds.isMember(r)) this.ds.materialise(st, g);
        else this.ds.compact(st, g);
      }
      st.removeRunning(g, r);
      st.kvTok[g] -= st.computed[r];
      st.releaseFinished(g, r);
      st.sched[r] = 0;
    }
    if (g >= 0) st.inflight[g] -= 1;
    this.inSystem--;
    this.fail(r, t, reason);
    this.rv.dirty = true;
  }

  /**
   * Apply the effects of the step that ends at time t on rank g (docs/model.md §7). Hot at
   * saturation: the rank's token sums are kept in locals and written back before anything that
   * could read them (a completion, a token listener) and at the end.
   */
  private finishRankStep(g: number, t: number): void {
    const st = this.st;
    const { run, sched, computed, generated, prompt, output, nRun, kvTok, promptTokOf, genTokOf, firstUs } = st;
    const onToken = this.ev.onToken;
    const base = g * st.RS;
    let kvAdd = 0;
    let promptAdd = 0;
    let genAdd = 0;
    let nr = nRun[g];
    let i = 0;
    while (i < nr) {
      const r = run[base + i];
      const s = sched[r];
      if (s === 0) {
        i++;
        continue;
      }
      sched[r] = 0;
      const gen = generated[r];
      const c = computed[r] + s;
      computed[r] = c;
      kvAdd += s;
      if (s !== 1 || gen === 0) promptAdd += s;
      if (c === prompt[r] + gen) {
        generated[r] = gen + 1;
        genAdd++;
        if (gen === 0) firstUs[r] = t;
        if (onToken || gen + 1 >= output[r]) {
          kvTok[g] += kvAdd;
          promptTokOf[g] += promptAdd;
          genTokOf[g] += genAdd;
          kvAdd = promptAdd = genAdd = 0;
          if (onToken) onToken(r, gen + 1, t);
          if (gen + 1 >= output[r]) {
            this.complete(r, g, t);
            st.removeRunningAt(g, i);
            nr--;
            continue;
          }
        }
      }
      i++;
    }
    kvTok[g] += kvAdd;
    promptTokOf[g] += promptAdd;
    genTokOf[g] += genAdd;
  }

  /**
   * applyAtSchedule: the step's first tokens and completions at its end t, in the order
   * finishRankStep would meet them; completed requests leave their running lists (order kept).
   */
  private applyEffects(t: number): void {
    const fx = this.fx!;
    const st = this.st;
    const firstUs = st.firstUs;
    const first = this.firstRemoved;
    const ds = this.ds;
    let any = false;
    for (let e = 0; e < fx.n; e++) {
      const r = fx.req[e];
      const kind = fx.kind[e];
      if (kind & FIRST_TOKEN) firstUs[r] = t;
      if (kind & COMPLETES) {
        const g = fx.rank[e];
        if (ds !== undefined && ds.isMember(r)) {
          // A decode-set member: it leaves a hole in the running list (decodeSet.ts).
          ds.remove(st, g, r);
          this.complete(r, g, t);
          continue;
        }
        this.complete(r, g, t);
        if (first[g] < 0) first[g] = fx.pos[e]; // positions ascend within a rank
        any = true;
      }
    }
    fx.n = 0;
    if (!any) return;
    const { run, nRun, status, holes } = st;
    const RS = st.RS;
    for (let g = 0; g < this.G; g++) {
      const from = first[g];
      if (from < 0) continue;
      first[g] = -1;
      const base = g * RS;
      const end = base + nRun[g] + holes[g];
      let w = base + from;
      for (let i = w; i < end; i++) {
        const r = run[i];
        if (status[r] !== DONE) run[w++] = r;
      }
      nRun[g] = w - base - holes[g];
    }
  }

  private complete(r: number, g: number, t: number): void {
    const st = this.st;
    st.status[r] = DONE;
    st.endUs[r] = t;
    st.kvTok[g] -= st.computed[r];
    st.releaseFinished(g, r);
    st.inflight[g] -= 1;
    this.inSystem--;
    this.completed++;
    this.outputTokens += st.output[r];
    if (t > this.lastEventUs) this.lastEventUs = t;
    this.hist.recordCompleted(st.arrival[r], st.admitUs[r], st.firstUs[r], t, st.output[r], st.queuedUs[r], st.schedUs[r]);
    if (this.ev.onFinish) this.ev.onFinish(r, 'completed', t);
  }

  /** Account one group step in the run's counters (the load terms use KV after the step). */
  private recordStep(stepUs: number, maxUs: number, sumUs: number, maxLoad: number, sumLoad: number, inSys: number): void {
    this.steps++;
    this.busyUs += stepUs;
    this.sumRankUs += sumUs;
    this.sumMaxRankUs += maxUs * this.G;
    this.inSystemArea += inSys * stepUs;
    if (maxLoad > 0) {
      const mean = sumLoad / this.G;
      this.imbAcc += (stepUs * (maxLoad - mean)) / mean;
      this.balAcc += (stepUs * mean) / maxLoad;
      this.loadWeight += stepUs;
    }
  }

  /**
   * How many steps, starting with the one just scheduled, can run with nothing but decode
   * tokens and no completion at their end, no preemption, and no new admission possible.
   * (Arrivals and timeouts are checked step by step in runDecodeStretch.)
   */
  private eventFreeSteps(shift: number): number {
    const { freeBlocks, nRun } = this.st;
    let k = Infinity;
    for (let g = 0; g < this.G; g++) {
      if (nRun[g] === 0) continue; // nothing running: no bound
      const left = this.rankLeft(g, shift);
      if (left < k) k = left;
    }
    if (!(k >= 2) || k === Infinity) return 0;
    // KV blocks: the rank must be able to grow every request by k tokens; otherwise only as far
    // as no request needs a new block.
    const growth = this.growth;
    for (let g = 0; g < this.G; g++) {
      if (nRun[g] === 0) continue;
      this.rankGrowth(g, shift, k);
      if (growth[0] > freeBlocks[g] && growth[1] < k) k = growth[1];
    }
    return k;
  }

  /**
   * Steps before rank g's next completion, with the state `shift` steps ahead: its decode set's
   * heap top, and the running requests behind the set one by one (Infinity without any).
   */
  private rankLeft(g: number, shift: number): number {
    const st = this.st;
    const ds = this.ds;
    let left = Infinity;
    let i = 0;
    if (ds !== undefined) {
      left = ds.minLeft(g, shift);
      if (ds.nD[g] === st.nRun[g]) return left; // every running request is a member
      i = ds.nD[g] + st.holes[g];
    }
    const { run, output, generated } = st;
    const base = g * st.RS;
    const end = st.nRun[g] + st.holes[g];
    for (; i < end; i++) {
      const r = run[base + i];
      const l = output[r] - (generated[r] - shift) - 1;
      if (l < left) left = l;
    }
    return left;
  }

  /**
   * Rank g's requests grown by h tokens (state `shift` steps ahead): the extra KV blocks they
   * need and the smallest room left in the blocks they hold, into growth[0] and growth[1].
   */
  private rankGrowth(g: number, shift: number, h: number): void {
    const st = this.st;
    const ds = this.ds;
    const growth = this.growth;
    let extra = 0;
    let room = Infinity;
    let i = 0;
    if (ds !== undefined) {
      if (ds.nD[g] > 0) {
        ds.growthBlocks(st, g, shift, h, growth);
        if (ds.nD[g] === st.nRun[g]) return; // every running request is a member
        extra = growth[0];
        room = growth[1];
      }
      i = ds.nD[g] + st.holes[g];
    }
    const { run, computed, blocks, BS } = st;
    const base = g * st.RS;
    const end = st.nRun[g] + st.holes[g];
    for (; i < end; i++) {
      const r = run[base + i];
      const c = computed[r] - shift;
      extra += Math.ceil((c + h) / BS) - blocks[r];
      const rm = BS * blocks[r] - c;
      if (rm < room) room = rm;
    }
    growth[0] = extra;
    growth[1] = room;
  }

  /**
   * Advance up to k decode-only steps from time t0, the first of which is already scheduled:
   * per step only per-rank sums change (each running request adds one KV token), so step times
   * and metrics come from per-rank aggregates.
   */
  private runDecodeStretch(k: number, t0: number, shift: number): number {
    const st = this.st;
    const G = this.G;
    let a2aUs = this.stepA2aUs;
    // R_max is the decode count of the busiest rank throughout: the host time is constant.
    const hostUs = this.stepHostUs;
    let lastStepUs = 0;
    // The group part is constant in a decode-only stretch, except the mean-KV term: the ranks'
    // KV reads grow by their decode counts each step.
    const meanKv = !!this.model.perMeanKvToken;
    let decodeAll = 0;
    let decodeMax = 0;
    for (let g = 0; g < G; g++) {
      decodeAll += this.decodeSeqsOf[g];
      if (this.decodeSeqsOf[g] > decodeMax) decodeMax = this.decodeSeqsOf[g];
    }
    // Tokens per rank are the decode counts throughout the stretch.
    const tokRatio = decodeAll / G / decodeMax;
    const { kvTok, nRun, nWaiting, arrival } = st;
    const { decodeSeqsOf, ffBase, ffSlope, ffActive, rankUs, loadScratch } = this;
    const ts = this.ts;
    // A rank's step time in picoseconds is affine in the step index j here (only kv_read grows,
    // by its decode count per step): precompute base and slope once, after checking that the
    // model really is affine (a model with non-linear terms takes the general path per step).
    let nActive = 0;
    let affine = true;
    for (let g = 0; g < G; g++) {
      const d = decodeSeqsOf[g];
      if (d === 0) continue;
      const p0 = this.decodePs(g, 0);
      const p1 = this.decodePs(g, 1);
      if (this.decodePs(g, 2) !== 2 * p1 - p0) affine = false;
      ffBase[g] = p0;
      ffSlope[g] = p1 - p0;
      ffActive[nActive++] = g;
    }
    if (ts) rankUs.fill(0);
    const n = st.n;
    const timeoutUs = this.timeoutUs;
    let t = t0;
    let j = 0;
    // The envelopes cost a few divisions per active rank to set up, about what a step of the loop
    // below costs: worth it only for stretches expected to be long (the steps to the next
    // arrival at the first step's length, or to the next completion). Both give the same numbers.
    const lim = this.stretchLimitUs();
    this.stretchEvents = false;
    const byTime = lim === Infinity ? Infinity : (lim - t0) / this.stepUs;
    let expected = Math.min(k, byTime);
    // Events inside the stretch (stretchEventBegin): completions that change nothing but their
    // rank's own lines, and arrivals, whose ranks are then scheduled step by step while the
    // others follow their lines. The stretch lasts to an event that cannot be taken inside.
    // Where arrivals come every step or two (near saturation) most ranks have requests waiting
    // and the stretch would soon end anyway: there the plain stretch is cheaper.
    let kk = k;
    let events = false;
    if (affine && !meanKv && !ts && this.throughOk && !this.xfer && shift === 1 && byTime >= ENVELOPE_MIN_STEPS) {
      const kt = this.throughBounds(shift, nActive);
      if (kt >= k) {
        kk = kt;
        events = true;
        expected = kt;
      }
    }
    if (affine && !meanKv && !ts && expected >= ENVELOPE_MIN_STEPS) {
      t = this.runAffineStretch(kk, t0, shift, nActive, a2aUs + hostUs, tokRatio, lim, events);
      j = this.stretchSteps;
      lastStepUs = this.stretchLastUs;
    }
    const general = j === 0;
    while (general && j < k) {
      let maxUs = 0;
      let sumUs = 0;
      let maxLoad = 0;
      let sumLoad = 0;
      if (meanKv && j > 0) a2aUs = allToAllUs(this.model, this.stepMaxTok, this.stepTotTok, this.stepKvRead + j * decodeAll, G);
      for (let i = 0; i < nActive; i++) {
        const g = ffActive[i];
        const us = psToUs(affine ? ffBase[g] + j * ffSlope[g] : this.decodePs(g, j));
        if (ts) rankUs[g] = us;
        sumUs += us;
        if (us > maxUs) maxUs = us;
        // Idle ranks hold no running request: their load is 0, so only active ranks count.
        const l = kvTok[g] + (j + 1 - shift) * decodeSeqsOf[g];
        sumLoad += l;
        if (l > maxLoad) maxLoad = l;
      }
      const stepUs = Math.max(1, maxUs + a2aUs + hostUs);
      this.recordStep(stepUs, maxUs, sumUs, maxLoad, sumLoad, this.inSystem);
      this.tokBalAcc += tokRatio;
      if (ts) {
        for (let g = 0; g < G; g++) loadScratch[g] = kvTok[g] + (j + 1 - shift) * decodeSeqsOf[g];
        ts.add(this.steps - 1, t, stepUs, 0, G, loadScratch, nRun, nWaiting, rankUs);
      }
      t += stepUs;
      lastStepUs = stepUs;
      j++;
      if (this.nextArr < n && arrival[this.nextArr] <= t) break;
      if (this.xfer && this.xfer.nextEndUs() >= 0 && this.xfer.nextEndUs() <= t) break;
      if (timeoutUs > 0 && this.timeoutPtr < this.nextArr && arrival[this.timeoutPtr] + timeoutUs <= t) break;
    }
    this.fastForwardedSteps += j;
    if (this.stretchEvents) {
      this.endStretchWithEvents(j);
    } else {
      this.applyDecodeSteps(j - shift);
      // Async scheduling: frees held at the stretch's start were recorded before its first pass
      // and are released by the pass at the end of its first step. After two steps or more that
      // pass has happened; after one it is the next pass, which releases them itself.
      if (this.asyncScheduling && j >= 2) for (let g = 0; g < G; g++) if (st.pendSlots[g] > 0) st.releasePending(g);
    }
    this.lastStartUs = t - lastStepUs;
    this.lastEndUs = t;
    return t;
  }

  /** Steps taken and duration of the last step of the last runAffineStretch. */
  private stretchSteps = 0;
  private stretchLastUs = 0;

  /**
   * The time from which no decode stretch may go on: the next arrival, KV transfer end or timeout
   * deadline (a stretch stops at the first boundary at or after it; none changes inside a
   * stretch). Infinity when there is none.
   */
  private stretchLimitUs(): number {
    const st = this.st;
    let tLim = Infinity;
    if (this.nextArr < st.n) tLim = st.arrival[this.nextArr];
    const x = this.xfer ? this.xfer.nextEndUs() : -1;
    if (x >= 0 && x < tLim) tLim = x;
    if (this.timeoutUs > 0 && this.timeoutPtr < this.nextArr) {
      const d = st.arrival[this.timeoutPtr] + this.timeoutUs;
      if (d < tLim) tLim = d;
    }
    return tLim;
  }

  /**
   * runDecodeStretch's loop when every active rank's step time is affine in the step index j
   * (ffBase + j * ffSlope ps) and the group part is constant (no mean-KV term, no time series):
   * O(1) per step. The slowest rank's time is the upper envelope of the ranks' lines, and so is
   * the most loaded rank's KV (ffLoad + j * decodes): both are followed by the line on top,
   * swapped only at a crossing (at most G - 1 per line change: each swap raises the slope).
   * floor() being monotonic, max_g floor(p_g / 1e6) = floor(max_g p_g / 1e6). The sum of the
   * ranks' µs (an integer accumulated exactly) is added once per line. The floating-point
   * accumulations (imbalance, balance, token balance) are done step by step in the same order as
   * recordStep, so every figure is identical.
   *
   * With `events`, completions (at the steps in evAt) and sparse arrivals are taken inside the
   * stretch (stretchEventBegin / stretchEventEnd / stretchArrival): the lines of the ranks
   * concerned change there, the others' go on. Returns the end
   * time; the steps taken and the last step's length are left in stretchSteps / stretchLastUs.
   */
  private runAffineStretch(k: number, t0: number, shift: number, nActive: number, groupUs: number, tokRatio: number, tLim: number, events: boolean): number {
    // Numbers from parameters, calls and fields are coerced where they seed loop variables: a
    // loop variable V8 cannot type as a number is kept boxed, unboxed at every use and boxed
    // again (a heap allocation) at every step.
    k = +k;
    groupUs = +groupUs;
    tokRatio = +tokRatio;
    tLim = +tLim;
    const st = this.st;
    const G = this.G;
    const { kvTok } = st;
    const { ffBase, ffSlope, ffActive, ffLoad, ffSeg, decodeSeqsOf } = this;
    const invG = (G & (G - 1)) === 0 ? 1 / G : 0;
    // Load after step j: kvTok + (j + 1 - shift) * decodes, i.e. ffLoad + j * decodes.
    let sumLoad0 = 0;
    let decodeAll = 0;
    let decodeMax = 0;
    for (let i = 0; i < nActive; i++) {
      const g = ffActive[i];
      const a = kvTok[g] + (1 - shift) * decodeSeqsOf[g];
      ffLoad[g] = a;
      ffSeg[g] = 0;
      sumLoad0 += a;
      decodeAll += decodeSeqsOf[g];
      if (decodeSeqsOf[g] > decodeMax) decodeMax = decodeSeqsOf[g];
    }
    this.ffSumUs = 0;
    let nextEv = Infinity;
    if (events) {
      const { evAt, evLast, ffApplied, seq0, local } = this;
      const seq = st.schedSeq;
      const evBits = this.evBits;
      clearBits(evBits);
      for (let g = 0; g < G; g++) {
        ffApplied[g] = shift;
        evLast[g] = -1;
        seq0[g] = seq[g];
        local[g] = 0;
        const e = evAt[g];
        if (e < nextEv) {
          nextEv = e;
          clearBits(evBits);
        }
        if (e === nextEv && e !== Infinity) evBits[g >>> 5] |= 1 << (g & 31);
      }
      clearBits(this.localBits);
      this.nLocal = 0;
    }
    this.joinAt = -1;
    this.nPending = 0;
    let inSys = this.inSystem;
    let steps = this.steps;
    let busyUs = this.busyUs;
    let sumMaxRankUs = this.sumMaxRankUs;
    let inSystemArea = this.inSystemArea;
    let imbAcc = this.imbAcc;
    let balAcc = this.balAcc;
    let loadWeight = this.loadWeight;
    let tokBalAcc = this.tokBalAcc;
    let psA = 0; // the line on top of the step-time envelope: psA + j * psB (rank psTop's)
    let psB = 0;
    let psTop = -1;
    let psNext = 0; // first j at which another line may be on top
    let ldA = 0; // the same for the load
    let ldB = 0;
    let ldTop = -1;
    let ldNext = 0;
    let t = +t0;
    let j = 0;
    let stepUs = 0;
    for (;;) {
      if (j >= psNext) {
        const best = this.envelopeTop(j, nActive, ffBase, ffSlope);
        if (j > 0 && (ffBase[best] !== psA || ffSlope[best] !== psB)) this.envelopeSwitches++;
        psA = ffBase[best];
        psB = ffSlope[best];
        psTop = best;
        psNext = +this.envTopNext;
      }
      const ev = j === nextEv;
      if (!ev && j < ldNext) {
        // Plain steps up to the next event, line change, arrival or the stretch's end: one line
        // on top of each envelope, nothing but recordStep's accumulations, term by term.
        let end = k;
        if (psNext < end) end = psNext;
        if (ldNext < end) end = ldNext;
        if (nextEv < end) end = nextEv;
        // The top line's µs (and so the step's length) change only at its stairs: one division
        // per stair. For an integer line the next stair is estimated from below (the floor of
        // the quotient never passes the exact ceiling), so no stair is missed. Lines that climb a
        // stair every few steps (many decodes) keep one division per step.
        const intLine = psB > 0 && psB < 500_000 && Number.isInteger(psA) && Number.isInteger(psB);
        let stairEnd = j;
        let su = 0;
        let muG = 0; // the step's terms that change only with it (integers: the same sums)
        let inSysSu = 0;
        for (;;) {
          if (j >= stairEnd) {
            const ps = psA + j * psB;
            let mu: number;
            if (intLine && ps >= 0 && ps < PS_EXACT_DIV) {
              mu = Math.floor(ps / 1_000_000);
              stairEnd = j + Math.max(1, Math.floor(((mu + 1) * 1_000_000 - ps) / psB));
            } else {
              mu = ps >= 0 && ps < PS_EXACT_DIV ? Math.floor(ps / 1_000_000) : psToUs(ps);
              stairEnd = psB === 0 ? Infinity : j + 1;
            }
            su = Math.max(1, mu + groupUs);
            muG = mu * G;
            inSysSu = inSys * su;
          }
          steps++;
          busyUs += su;
          sumMaxRankUs += muG;
          inSystemArea += inSysSu;
          tokBalAcc += tokRatio;
          const ml = ldA + j * ldB;
          if (ml > 0) {
            // (Division by a power of two is exact either way.)
            const sum = sumLoad0 + j * decodeAll;
            const mean = invG > 0 ? sum * invG : sum / G;
            imbAcc += (su * (ml - mean)) / mean;
            balAcc += (su * mean) / ml;
            loadWeight += su;
          }
          t += su;
          stepUs = su;
          j++;
          if (j >= end || t >= tLim) break;
        }
      } else {
        // One step with events at it, or after which the load envelope is scanned again.
        let maxUs = psToUs(psA + j * psB);
        let gUs = groupUs;
        let ratio = tokRatio;
        if (ev) {
          // Ranks scheduled on their own at this step, and completions at its end.
          this.stretchEventBegin(j, t, stepUs);
          if (this.evLocalRanks > 0) {
            if (this.evLocalMaxUs > maxUs) maxUs = this.evLocalMaxUs;
            // The group terms of this step, as beginStep computes them.
            const maxTok = this.evLocalMaxTok > decodeMax ? this.evLocalMaxTok : decodeMax;
            const totTok = decodeAll + this.evLocalTok;
            const rMax = this.evLocalMaxSeqs > decodeMax ? this.evLocalMaxSeqs : decodeMax;
            gUs = this.groupUs(maxTok, totTok, rMax);
            ratio = totTok / G / maxTok;
          }
        }
        stepUs = Math.max(1, maxUs + gUs);
        // recordStep, term by term.
        steps++;
        busyUs += stepUs;
        sumMaxRankUs += maxUs * G;
        inSystemArea += inSys * stepUs;
        tokBalAcc += ratio;
        let localMaxLoad = 0;
        let localSumLoad = 0;
        if (ev) {
          // Their effects at the step's end; their lines change from here (the loads after step j
          // already).
          this.ffN = nActive;
          k = +this.stretchEventEnd(j, t + stepUs, k);
          this.stretchEventSteps++;
          nActive = this.ffN;
          nextEv = +this.ffNextEv;
          localMaxLoad = this.evLocalLoadMax;
          localSumLoad = this.evLocalLoadSum;
          inSys = this.inSystem;
          if (this.ffLinesChanged) {
            sumLoad0 += this.ffDLoad0;
            decodeAll += this.ffDDecodes;
            decodeMax = this.ffDecodeMax;
            groupUs = this.ffGroupUs;
            tokRatio = this.ffTokRatio;
            // The step times from step j + 1, the loads after step j already.
            psNext = +this.envelopeNext(j + 1, psTop, psA, psB, psNext, ffBase, ffSlope);
            ldNext = +this.envelopeNext(j, ldTop, ldA, ldB, ldNext, ffLoad, decodeSeqsOf);
          }
        }
        if (j >= ldNext) {
          const best = this.envelopeTop(j, nActive, ffLoad, decodeSeqsOf);
          if (best < 0) {
            // No rank follows a line (every one finished at this step).
            ldA = 0;
            ldB = 0;
          } else {
            if (j > 0 && decodeSeqsOf[best] !== ldB) this.envelopeSwitches++;
            ldB = decodeSeqsOf[best];
            ldA = ffLoad[best];
          }
          ldTop = best;
          ldNext = +this.envTopNext;
        }
        let maxLoad = ldA + j * ldB;
        if (localMaxLoad > maxLoad) maxLoad = localMaxLoad;
        if (maxLoad > 0) {
          const mean = (sumLoad0 + j * decodeAll + localSumLoad) / G;
          imbAcc += (stepUs * (maxLoad - mean)) / mean;
          balAcc += (stepUs * mean) / maxLoad;
          loadWeight += stepUs;
        }
        t += stepUs;
        j++;
      }
      if (j >= k) break;
      const joins = j === this.joinAt;
      if (joins || t >= tLim) {
        this.ffN = nActive;
        // Ranks whose arrival was hidden from the step before are scheduled on their own from
        // here; an arrival due at this boundary is routed here, unless something else is due (or
        // a rank joined just now: one rank on its own at a time).
        if (joins && !this.stretchJoin(j)) break;
        nActive = this.ffN;
        if (t >= tLim) {
          if (!events || !this.stretchArrival(t, j, stepUs)) break;
          this.stretchArrivals++;
          tLim = +this.stretchLimitUs();
          nActive = this.ffN;
          inSys = this.inSystem;
        }
        sumLoad0 += this.ffDLoad0;
        decodeAll += this.ffDDecodes;
        decodeMax = this.ffDecodeMax;
        groupUs = this.ffGroupUs;
        tokRatio = this.ffTokRatio;
        // The next event step: this one for ranks scheduled on their own now, the next for those
        // joining then (a completion may come first).
        const evNext = this.nLocal > this.nPending ? j : j + 1;
        if (evNext < nextEv) nextEv = evNext;
        psNext = +this.envelopeNext(j, psTop, psA, psB, psNext, ffBase, ffSlope);
        ldNext = +this.envelopeNext(j, ldTop, ldA, ldB, ldNext, ffLoad, decodeSeqsOf);
      }
    }
    this.steps = steps;
    this.busyUs = busyUs;
    this.sumMaxRankUs = sumMaxRankUs;
    this.inSystemArea = inSystemArea;
    this.imbAcc = imbAcc;
    this.balAcc = balAcc;
    this.loadWeight = loadWeight;
    this.tokBalAcc = tokBalAcc;
    let sumUs = this.ffSumUs;
    for (let i = 0; i < nActive; i++) {
      const g = ffActive[i];
      sumUs += this.staircaseUs(g, ffSeg[g], j);
    }
    this.sumRankUs += sumUs;
    this.stretchSteps = j;
    this.stretchLastUs = stepUs;
    this.envelopeSteps += j;
    return t;
  }

  /**
   * The ranks' µs summed over steps [from, to) of rank g's current line: the sum of
   * floor((a + b j) / 1e6), in closed form (floorSum) when every term is an exact integer,
   * otherwise one stair at a time (an increment every 1e6 / b steps).
   */
  private staircaseUs(g: number, from: number, to: number): number {
    const a = this.ffBase[g];
    const b = this.ffSlope[g];
    if (to <= from) return 0;
    const p0 = a + from * b;
    const n = to - from;
    if (Number.isInteger(p0) && Number.isInteger(b) && p0 >= 0 && b >= 0 && p0 + n * b < PS_EXACT_DIV && n * n * (b / 1e6 + 1) < 2 ** 52) {
      return floorSum(n, 1_000_000, b, p0);
    }
    let sumUs = 0;
    let q = from;
    while (q < to) {
      const p = a + q * b;
      const u = psToUs(p);
      // First q' with a + q' b >= (u + 1) 1e6, or one step before it (floating-point floor):
      // early only costs another stair.
      let next = b > 0 ? q + Math.max(1, Math.floor(((u + 1) * 1_000_000 - p) / b)) : to;
      if (next > to) next = to;
      sumUs += u * (next - q);
      q = next;
    }
    return sumUs;
  }

  /**
   * The line on top of an envelope at step j, among the active ranks' lines base + j slope (ties:
   * the steepest, which stays on top longest; -1 without lines), and in envTopNext the first step
   * at which a steeper line may cross it (never later than the true crossing: early only costs a
   * re-check; Infinity when none can).
   */
  private envelopeTop(j: number, nActive: number, base: Float64Array, slope: Float64Array): number {
    const ffActive = this.ffActive;
    let best = -1;
    let bv = -Infinity;
    for (let i = 0; i < nActive; i++) {
      const g = ffActive[i];
      const v = base[g] + j * slope[g];
      if (v > bv || (v === bv && slope[g] > slope[best])) {
        bv = v;
        best = g;
      }
    }
    let next = Infinity;
    if (best >= 0) {
      const A = base[best];
      const B = slope[best];
      for (let i = 0; i < nActive; i++) {
        const g = ffActive[i];
        if (slope[g] <= B) continue;
        const c = Math.max(j + 1, Math.floor((A - base[g]) / (slope[g] - B)));
        if (c < next) next = c;
      }
    }
    this.envTopNext = next;
    return best;
  }
  private envTopNext = Infinity;

  /**
   * After the lines of the ranks in chg changed (new, moved or gone), the first step from s at
   * which an envelope's top line (rank `top`'s, A + j B) may change: s when that line itself
   * changed or a changed line reaches it at s (the envelope is then scanned again), otherwise
   * `next` lowered to the changed lines' crossings with it. Lines that only left cannot raise the
   * envelope; the unchanged ones' crossings are in `next` already.
   */
  private envelopeNext(s: number, top: number, A: number, B: number, next: number, base: Float64Array, slope: Float64Array): number {
    const { chg, local, decodeSeqsOf } = this;
    const n = this.nChg;
    for (let i = 0; i < n; i++) if (chg[i] === top) return s;
    const vTop = A + s * B;
    for (let i = 0; i < n; i++) {
      const g = chg[i];
      if (local[g] === 1 || decodeSeqsOf[g] === 0) continue; // no line any more
      const b = slope[g];
      const v = base[g] + s * b;
      if (v > vTop || (v === vTop && b > B)) return s;
      if (b <= B) continue;
      const c = Math.max(s, Math.floor((A - base[g]) / (b - B)));
      if (c < next) next = c;
    }
    return next;
  }

  // Results of the stretch events for runAffineStretch's locals.
  private stretchEvents = false;
  private ffN = 0;
  private ffNextEv = Infinity;
  private ffDLoad0 = 0;
  private ffDDecodes = 0;
  private ffDecodeMax = 0;
  private ffGroupUs = 0;
  private ffTokRatio = 0;
  private evLocalRanks = 0;
  private evLocalMaxUs = 0;
  private evLocalTok = 0;
  private evLocalMaxTok = 0;
  private evLocalMaxSeqs = 0;
  private evLocalLoadMax = 0;
  private evLocalLoadSum = 0;
  private ffLinesChanged = false; // the last stretchEventEnd changed some rank's line
  private readonly chg: Int32Array; // the ranks whose lines the last event changed
  // Rank sets as bits (rank g: word g >> 5, bit g & 31), walked lowest rank first, so that an
  // event step visits only its ranks: the local ranks, the ranks whose completion is the next one
  // (evAt equal to the smallest; a superset is fine, each is checked), and those of this step.
  private readonly localBits: Uint32Array;
  private readonly evBits: Uint32Array;
  private readonly stepBits: Uint32Array;
  private nChg = 0;

  /**
   * Events inside a stretch: per active rank, the stretch step of its next completion (evAt),
   * taken inside when that changes nothing but the rank's own lines — nothing waits on the rank
   * (no admission can follow), all its running requests are members of its decode set (the
   * completion is its heap's top), and its free blocks cover its growth to that step. Returns
   * how many steps the stretch may last (the other ranks' bounds, as in eventFreeSteps).
   */
  private throughBounds(shift: number, nActive: number): number {
    const st = this.st;
    const ds = this.ds!;
    const { nRun, nWaiting, freeBlocks } = st;
    const { ffActive, evAt, growth } = this;
    for (let g = 0; g < evAt.length; g++) evAt[g] = Infinity; // (a loop: cheaper than fill for a few ranks)
    let kOther = Infinity;
    for (let i = 0; i < nActive; i++) {
      const g = ffActive[i];
      const members = ds.minLeft(g, shift);
      if (ds.nD[g] === nRun[g] && nWaiting[g] === 0 && members >= 2 && members !== Infinity) {
        evAt[g] = members;
        continue;
      }
      const left = this.rankLeft(g, shift);
      if (left < kOther) kOther = left;
    }
    let k = kOther;
    for (let i = 0; i < nActive; i++) {
      const g = ffActive[i];
      const e = evAt[g];
      // Growth: a candidate to its completion step included; the others to the stretch's end.
      if (e >= kOther) evAt[g] = Infinity; // beyond the stretch anyway
      const h = e < kOther ? e + 1 : kOther;
      if (h === Infinity) continue;
      this.rankGrowth(g, shift, h);
      if (growth[0] <= freeBlocks[g]) continue;
      const room = growth[1];
      if (e < kOther) {
        // Not enough blocks to reach its completion: it bounds the stretch instead.
        evAt[g] = Infinity;
        const b = Math.min(e, room);
        if (b < k) k = b;
      } else if (room < k) k = room;
    }
    return k;
  }

  /**
   * The start of stretch step j (at time t; the step before lasted prevUs) with events: each
   * rank scheduled on its own (local) takes its step through scheduleRank exactly as at a
   * boundary, and each rank with a completion at this step (evAt) takes its decode set's step.
   * Both are first brought up to date (their members advanced to step j, their pass counted as
   * beginPass would), in rank order, so that the step's effects are recorded in beginStep's
   * order. The local ranks' step times and tokens are left in the evLocal* fields.
   */
  private stretchEventBegin(j: number, t: number, prevUs: number): void {
    const st = this.st;
    const ds = this.ds!;
    const fx = this.fx!;
    const G = this.G;
    const { freeBlocks, kvTok, genTokOf } = st;
    const { evAt, evLast, evDecodes, ffApplied, decodeSeqsOf, seq0, local, plan } = this;
    this.releaseHeldOnce();
    // Steps inside a stretch are back to back: under async scheduling a pass decides at the
    // start of the step before (beginStep's decision time).
    const decision = this.asyncScheduling ? t - prevUs : t;
    let nLocal = 0;
    let maxUs = 0;
    let tok = 0;
    let maxTok = 0;
    let maxSeqs = 0;
    let sumUs = 0;
    const { localBits, evBits, stepBits } = this;
    for (let w = 0; w < localBits.length; w++) {
      let m = localBits[w] | evBits[w];
      let done = 0;
      while (m !== 0) {
        const bit = m & -m;
        m ^= bit;
        const g = (w << 5) | (31 - Math.clz32(bit));
        if (local[g] === 1) {
          done |= bit;
          const n = j - ffApplied[g];
          if (n > 0) this.applyRankDecodeSteps(g, n);
          st.decisionUs[g] = decision;
          st.schedSeq[g] = seq0[g] + j - 1;
          const tg = scheduleRank(st, g, t, plan, fx, false, ds);
          const us = tg > 0 ? rankStepUs(this.model, this.basePs, plan) : 0;
          nLocal++;
          sumUs += us;
          if (us > maxUs) maxUs = us;
          tok += tg;
          if (tg > maxTok) maxTok = tg;
          if (plan.seqs > maxSeqs) maxSeqs = plan.seqs;
          ffApplied[g] = j + 1;
          evLast[g] = j;
          evDecodes[g] = tg;
          continue;
        }
        if (evAt[g] !== j) continue;
        done |= bit;
        const d = decodeSeqsOf[g];
        const n = j - ffApplied[g];
        if (n > 0) {
          freeBlocks[g] -= ds.advance(st, g, n);
          kvTok[g] += n * d;
          genTokOf[g] += n * d;
        }
        st.schedSeq[g] = seq0[g] + j - 1;
        st.beginPass(g);
        freeBlocks[g] -= ds.blocksNeeded(g);
        ds.step(g, fx);
        kvTok[g] += d;
        genTokOf[g] += d;
        ffApplied[g] = j + 1;
        evLast[g] = j;
        evDecodes[g] = d;
      }
      stepBits[w] = done;
    }
    this.ffSumUs += sumUs;
    this.evLocalRanks = nLocal;
    this.evLocalMaxUs = maxUs;
    this.evLocalTok = tok;
    this.evLocalMaxTok = maxTok;
    this.evLocalMaxSeqs = maxSeqs;
  }

  /** Async scheduling: the first event of a stretch comes after its first pass, which released every free held at its start. */
  private releaseHeldOnce(): void {
    if (this.stretchEvents) return;
    this.stretchEvents = true;
    const st = this.st;
    if (this.asyncScheduling) for (let g = 0; g < this.G; g++) if (st.pendSlots[g] > 0) st.releasePending(g);
  }

  /**
   * The end of stretch step j (its end time tEnd) with events: the step's first tokens and
   * completions applied as at a boundary (applyEffects); then each rank that had an event either
   * stays local (it has requests waiting or not yet in its decode set), or follows a line again
   * from its new state (restartLine), or is idle. Returns the stretch's new length bound; the
   * changes to runAffineStretch's locals are left in the ff* and evLocalLoad* fields.
   */
  private stretchEventEnd(j: number, tEnd: number, k: number): number {
    const st = this.st;
    const ds = this.ds!;
    const G = this.G;
    const { kvTok, nRun, nWaiting } = st;
    const { evAt, evLast, ffLoad, ffSeg, ffActive, decodeSeqsOf, local } = this;
    this.applyEffects(tEnd);
    const chg = this.chg;
    let nChg = 0;
    let nActive = this.ffN;
    let dLoad0 = 0;
    let dDecodes = 0;
    let loadMax = 0;
    let loadSum = 0;
    let changed = false;
    const { localBits, evBits, stepBits } = this;
    for (let w = 0; w < stepBits.length; w++) {
      let m = stepBits[w];
      while (m !== 0) {
        const bit = m & -m;
        m ^= bit;
        const g = (w << 5) | (31 - Math.clz32(bit));
        if (local[g] === 1) {
          if (nWaiting[g] > 0 || ds.nD[g] !== nRun[g]) {
            const l = kvTok[g];
            loadSum += l;
            if (l > loadMax) loadMax = l;
            continue;
          }
          changed = true;
          chg[nChg++] = g;
          local[g] = 0;
          localBits[w] &= ~bit;
          this.nLocal--;
          const d2 = ds.nD[g];
          decodeSeqsOf[g] = d2;
          if (d2 === 0) continue; // idle
          // A line again from step j + 1 (its load after step j on it already).
          ffActive[nActive++] = g;
          const a = kvTok[g] - j * d2;
          ffLoad[g] = a;
          dLoad0 += a;
          dDecodes += d2;
          k = this.restartLine(g, j, k);
          continue;
        }
        changed = true;
        chg[nChg++] = g;
        const d = decodeSeqsOf[g];
        const d2 = ds.nD[g];
        this.ffSumUs += this.staircaseUs(g, ffSeg[g], j + 1);
        const a = kvTok[g] - j * d2;
        dLoad0 += a - ffLoad[g];
        dDecodes += d2 - d;
        ffLoad[g] = a;
        decodeSeqsOf[g] = d2;
        if (d2 === 0) {
          evAt[g] = Infinity;
          for (let i = 0; i < nActive; i++) {
            if (ffActive[i] === g) {
              ffActive[i] = ffActive[--nActive];
              break;
            }
          }
          continue;
        }
        k = this.restartLine(g, j, k);
      }
    }
    this.ffN = nActive;
    this.nChg = nChg;
    this.ffDLoad0 = dLoad0;
    this.ffDDecodes = dDecodes;
    this.evLocalLoadMax = loadMax;
    this.evLocalLoadSum = loadSum;
    // The next completion and its ranks; with local ranks the next step is an event anyway.
    let next = Infinity;
    clearBits(evBits);
    for (let i = 0; i < nActive; i++) {
      const g = ffActive[i];
      const e = evAt[g];
      if (e > next || e === Infinity) continue;
      if (e < next) {
        next = e;
        clearBits(evBits);
      }
      evBits[g >>> 5] |= 1 << (g & 31);
    }
    if (this.nLocal > 0 && j + 1 < next) next = j + 1;
    this.ffNextEv = next;
    this.ffLinesChanged = changed;
    // The stretch goes on only while some rank follows a line (so every step has tokens).
    if (changed && !this.lineGroup(nActive)) return j + 1;
    return k;
  }

  /**
   * The group part of a step inside a stretch (all-to-all and host time, µs), as beginStep
   * computes it: the largest and total tokens over ranks, the most requests on one rank (no
   * mean-KV term inside a stretch).
   */
  private groupUs(maxTok: number, totTok: number, rMax: number): number {
    // Remembered by its arguments (a direct-mapped table): events inside stretches ask for the
    // same few token counts again and again.
    const i = (Math.imul(maxTok, 0x9e3779b1) ^ Math.imul(totTok, 0x85ebca6b) ^ Math.imul(rMax, 0xc2b2ae35)) >>> 26;
    const key = this.groupKey;
    if (key[3 * i] === maxTok && key[3 * i + 1] === totTok && key[3 * i + 2] === rMax) return this.groupVal[i];
    const us = allToAllUs(this.model, maxTok, totTok, 0, this.G) + hostStepUs(this.model, rMax, this.syncPs);
    key[3 * i] = maxTok;
    key[3 * i + 1] = totTok;
    key[3 * i + 2] = rMax;
    this.groupVal[i] = us;
    return us;
  }

  /**
   * Rank g follows a line again from stretch step j + 1: its step time from its state after step
   * j (decodePs(g, i) reads kvReadOf + i * decodes), and its next completion inside the stretch
   * if its free blocks reach it (otherwise that completion bounds the stretch). Returns the
   * stretch's length bound.
   */
  private restartLine(g: number, j: number, k: number): number {
    const st = this.st;
    const ds = this.ds!;
    const { ffBase, ffSlope, ffSeg, evAt, growth } = this;
    const d2 = ds.nD[g];
    this.kvReadOf[g] = ds.sumC[g] - (j + 1) * d2;
    this.decodeKvMaxOf[g] = ds.trackMax ? ds.maxContext(st, g) - (j + 1) : 0;
    const p1 = this.decodePs(g, j + 1);
    if (this.exactDecodeLines) {
      ffSlope[g] = this.model.perKvTokenRead * d2;
    } else {
      const p2 = this.decodePs(g, j + 2);
      if (this.decodePs(g, j + 3) !== 2 * p2 - p1) k = j + 1; // not affine: stop after this step
      ffSlope[g] = p2 - p1;
    }
    ffBase[g] = p1 - (j + 1) * ffSlope[g];
    ffSeg[g] = j + 1;
    const left = ds.minLeft(g, 0);
    ds.growthBlocks(st, g, 0, left + 1, growth);
    if (growth[0] <= st.freeBlocks[g]) {
      evAt[g] = j + 1 + left;
    } else {
      evAt[g] = Infinity;
      const b = j + 1 + Math.min(left, growth[1]);
      if (b < k) k = b;
    }
    return k;
  }

  /**
   * The line ranks' group terms for the following steps (ffGroupUs, ffTokRatio, ffDecodeMax), as
   * beginStep computes them for decode-only steps; false when no rank follows a line.
   */
  private lineGroup(nActive: number): boolean {
    const { ffActive, decodeSeqsOf } = this;
    let decodeAll = 0;
    let decodeMax = 0;
    for (let i = 0; i < nActive; i++) {
      const d = decodeSeqsOf[ffActive[i]];
      decodeAll += d;
      if (d > decodeMax) decodeMax = d;
    }
    this.ffDecodeMax = decodeMax;
    if (decodeAll === 0) return false;
    this.ffGroupUs = this.groupUs(decodeMax, decodeAll, decodeMax);
    this.ffTokRatio = decodeAll / this.G / decodeMax;
    return true;
  }

  /**
   * An arrival due at stretch boundary t (the start of step j; the step before lasted prevUs),
   * routed inside the stretch: every rank is brought up to date (the router reads their state),
   * the boundary's bookkeeping set as a step ending there would leave it (last step's times and
   * tokens), the arrivals processed, and each rank given a request is scheduled on its own from
   * this step (local). Returns false, changing nothing, when something else is due (a timeout,
   * per_step or wave dispatch) or when no rank would be left following a line.
   */
  private stretchArrival(t: number, j: number, prevUs: number): boolean {
    const st = this.st;
    const G = this.G;
    const { arrival } = st;
    if (this.perStep || this.wave) return false;
    // Arrivals are worth taking inside where they are sparse: not while the last one's rank is
    // still scheduled on its own (near saturation the stretch would soon end anyway).
    if (this.nLocal > 0) return false;
    if (this.timeoutUs > 0 && this.timeoutPtr < this.nextArr && arrival[this.timeoutPtr] + this.timeoutUs <= t) return false;
    if (!(this.nextArr < st.n && arrival[this.nextArr] <= t)) return false;
    const nActive = this.ffN;
    let due = 0;
    let last = this.nextArr;
    for (let r = this.nextArr; r < st.n && arrival[r] <= t; r++) {
      if (++due >= nActive) return false;
      last = r;
    }
    this.releaseHeldOnce();
    const { ffApplied, evLast, evDecodes, decodeSeqsOf, rankTok, local, evAt, seq0 } = this;
    this.rv.dirty = true;
    // The ranks are brought up to date only when the router retakes its snapshot of them (with a
    // stats interval, the last one may still be current); the others catch up at their next event.
    // A router that reads neither KV usage nor the requests themselves (projections) needs only
    // the KV tokens the ranks will have added, not their blocks.
    let flush = this.rv.refreshDue(arrival[last]);
    const lag = flush && !this.viewReadsBlocks ? this.kvLag : undefined;
    if (lag !== undefined) {
      for (let g = 0; g < G; g++) lag[g] = (j - ffApplied[g]) * decodeSeqsOf[g];
      this.rv.kvLag = lag;
      flush = false;
    }
    if (flush) this.applyRanksDecodeSteps(0, G, 0, j, true);
    for (let g = 0; g < G; g++) {
      rankTok[g] = evLast[g] === j - 1 ? evDecodes[g] : decodeSeqsOf[g];
      if (!flush) {
        st.schedSeq[g] = seq0[g] + j - 1;
        continue;
      }
      ffApplied[g] = j;
      // The pass of step j - 1 is the last one taken (a request hidden now misses pass j). A rank
      // without an event at step j - 1 still holds frees its passes since would have released
      // (the router reads free blocks): that pass releases them (one pass stands for those
      // before it, as at the stretch's end).
      if (evLast[g] < j - 1 && st.pendSlots[g] > 0) {
        st.schedSeq[g] = seq0[g] + j - 2;
        st.beginPass(g);
      } else st.schedSeq[g] = seq0[g] + j - 1;
    }
    this.lastStartUs = t - prevUs;
    this.lastEndUs = t;
    const first = this.nextArr;
    this.processDue(t);
    this.rv.kvLag = undefined;
    this.nChg = 0;
    this.ffDLoad0 = 0;
    this.ffDDecodes = 0;
    for (let r = first; r < this.nextArr; r++) {
      if (st.status[r] !== WAITING) continue;
      const g = st.rankOf[r];
      if (local[g] !== 0) continue;
      const d = decodeSeqsOf[g];
      if (d > 0 && evAt[g] !== j && st.hiddenSeq[st.wHead[g]] >= seq0[g] + j && this.ds!.nD[g] === st.nRun[g]) {
        // Hidden from this step's pass (async scheduling), the rank's step is its decode set's
        // alone: it stays on its line for this step and is scheduled on its own from the next.
        local[g] = 2;
        this.stretchJoins++;
        this.nLocal++;
        this.pending[this.nPending++] = g;
        this.joinAt = j + 1;
        continue;
      }
      this.nLocal++;
      this.leaveLine(g, j);
    }
    this.lineGroup(this.ffN);
    return true;
  }

  /**
   * Rank g is scheduled on its own (local) from stretch step j: its line, if it has one, ends
   * there (its µs so far summed, its load and decodes taken out of the envelopes' sums in
   * ffDLoad0 / ffDDecodes, recorded in chg).
   */
  private leaveLine(g: number, j: number): void {
    this.local[g] = 1;
    this.localBits[g >>> 5] |= 1 << (g & 31);
    this.evBits[g >>> 5] &= ~(1 << (g & 31));
    const d = this.decodeSeqsOf[g];
    if (d === 0) return;
    this.chg[this.nChg++] = g;
    this.ffSumUs += this.staircaseUs(g, this.ffSeg[g], j);
    this.ffDLoad0 -= this.ffLoad[g];
    this.ffDDecodes -= d;
    this.evAt[g] = Infinity;
    const ffActive = this.ffActive;
    const n = this.ffN;
    for (let i = 0; i < n; i++) {
      if (ffActive[i] === g) {
        ffActive[i] = ffActive[n - 1];
        this.ffN = n - 1;
        return;
      }
    }
  }

  /**
   * Boundary j (joinAt): the ranks whose arrival was hidden from step j - 1's pass (local 2)
   * leave their lines and are scheduled on their own from step j, as stretchArrival does for the
   * others. Step j - 1 on the line was exactly the pass scheduleRank would have made: the waiting
   * head hidden blocks admission, every running request a decode-set member, its blocks covered
   * by the line's bound, no completion (frees it held are released by step j's pass either way).
   * Returns false, changing nothing, when no rank would be left on a line.
   */
  private stretchJoin(j: number): boolean {
    const { local, ffActive, pending } = this;
    const nActive = this.ffN;
    if (this.nPending >= nActive) {
      let left = 0;
      for (let i = 0; i < nActive; i++) if (local[ffActive[i]] !== 2) left++;
      if (left === 0) return false;
    }
    this.nChg = 0;
    this.ffDLoad0 = 0;
    this.ffDDecodes = 0;
    for (let i = 0; i < this.nPending; i++) this.leaveLine(pending[i], j);
    this.nPending = 0;
    this.joinAt = -1;
    this.lineGroup(this.ffN);
    return true;
  }

  /**
   * The end of a stretch with events, after `steps` steps: every rank's remaining steps applied,
   * its pass number and held frees as the passes after its last event left them, and the tokens
   * of its last step (the hidden-request rule reads them).
   */
  private endStretchWithEvents(steps: number): void {
    const st = this.st;
    this.applyDecodeSteps(0, steps);
    const { evLast, evDecodes, seq0, decodeSeqsOf, rankTok } = this;
    for (let g = 0; g < this.G; g++) {
      if (evLast[g] < steps - 1) {
        // The passes after the rank's last event (every pass of the stretch counted).
        st.schedSeq[g] = seq0[g] + steps - 2;
        st.beginPass(g);
        rankTok[g] = decodeSeqsOf[g];
      } else {
        rankTok[g] = evDecodes[g];
      }
    }
  }

  /** Picoseconds of rank g's j-th step in a decode-only stretch. */
  private decodePs(g: number, j: number): number {
    const w = this.plan;
    const d = this.decodeSeqsOf[g];
    w.decodeSeqs = d;
    w.prefillTokens = 0;
    w.prefillAttnPairs = 0;
    w.prefillKvTokens = 0;
    w.decodeKvMax = this.decodeKvMaxOf[g] + j;
    w.kvTokensRead = this.kvReadOf[g] + j * d;
    return rankStepPs(this.model, this.basePs, w);
  }

  /**
   * Apply j decode steps to every running request; with `upTo`, each rank's steps of the stretch
   * up to step upTo that ffApplied says it has not taken yet.
   */
  private applyDecodeSteps(j: number, upTo = -1): void {
    this.applyRanksDecodeSteps(0, this.G, j, upTo);
    this.rv.dirty = true;
  }

  /** Apply j decode steps to every running request of rank g. */
  private applyRankDecodeSteps(g: number, j: number): void {
    this.applyRanksDecodeSteps(g, g + 1, j, -1);
  }

  /** applyDecodeSteps over ranks [from, to) (one loop: it runs at the end of every stretch and at arrivals inside one). */
  private applyRanksDecodeSteps(from: number, to: number, j: number, upTo: number, skipIdle = false): void {
    const st = this.st;
    const { run, sched, computed, generated, blocks, freeBlocks, nRun, BS, holes, kvTok, genTokOf } = st;
    const RS = st.RS;
    const ds = this.ds;
    const { decodeSeqsOf, ffApplied } = this;
    for (let g = from; g < to; g++) {
      if (upTo >= 0) j = upTo - ffApplied[g];
      // (With skipIdle, ranks with nothing to advance are left alone.)
      if (skipIdle && (j <= 0 || nRun[g] === 0)) continue;
      const base = g * RS;
      let i = 0;
      if (ds !== undefined) {
        if (ds.nD[g] > 0) freeBlocks[g] -= ds.advance(st, g, j);
        i = ds.nD[g] + holes[g];
      }
      const end = nRun[g] + holes[g];
      for (; i < end; i++) {
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
      genTokOf[g] += j * decodeSeqsOf[g];
    }
  }
}

/** Empty a rank set (a loop: TypedArray fill is a call that costs more than the one or two words here). */
function clearBits(bits: Uint32Array): void {
  for (let w = 0; w < bits.length; w++) bits[w] = 0;
}

/**
 * sum over i in [0, n) of floor((a i + b) / m) for non-negative integers, in O(log m) steps
 * (the Euclid-like reduction of the lattice points under a line). Exact while every
 * intermediate stays below 2^53: with the step-time lines here (a, b < 2^32 * 1e6, m = 1e6),
 * a n + b < 2^52.
 */
export function floorSum(n: number, m: number, a: number, b: number): number {
  let sum = 0;
  for (;;) {
    if (a >= m) {
      const q = intDiv(a, m);
      sum += ((n * (n - 1)) / 2) * q;
      a -= q * m;
    }
    if (b >= m) {
      const q = intDiv(b, m);
      sum += n * q;
      b -= q * m;
    }
    const yMax = a * n + b;
    if (yMax < m) return sum;
    const n2 = intDiv(yMax, m);
    const b2 = yMax - n2 * m;
    n = n2;
    b = b2;
    const t = m;
    m = a;
    a = t;
  }
}

/** floor(x / m) for non-negative integers below 2^53 (the float quotient corrected by one if it rounded across an integer). */
function intDiv(x: number, m: number): number {
  let q = Math.floor(x / m);
  if (q * m > x) q--;
  else if ((q + 1) * m <= x) q++;
  return q;
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

/**
 * Whether a configuration runs with async scheduling (docs/model.md §3): the scenario's
 * `async_scheduling` (on / off), or with `auto` the model's `asyncScheduling`.
 */
export function resolveAsyncScheduling(sc: Pick<Scenario, 'asyncScheduling'>, model: Pick<StepModel, 'asyncScheduling'>): boolean {
  const v = sc.asyncScheduling ?? 'auto';
  return v === 'auto' ? model.asyncScheduling !== false : v === 'on';
}
