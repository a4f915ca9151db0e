// The gateway's picture of its ranks and the router call. Per rank it keeps the last /metrics
// snapshot (running, waiting, KV usage, KV capacity), the decisions made since that snapshot,
// and exact bookkeeping of its own in-flight requests; from these it builds the same RouterView
// the simulator's engines build and calls the same router function.
import { getRouter } from '../../routers/index.ts';
import { loadOf } from '../../routers/common.ts';
import { ROUTER_STATE_WORDS, type ProjectionSpec, type RouterDef, type RouterParams, type RouterView } from '../../routers/types.ts';
import { createProjector, projectionSizes, type Projector } from '../../routers/projections.ts';
import { InputError } from '../../errors.ts';
import type { EngineStats } from './vllmStats.ts';
import { SurvivalEstimator } from './survival.ts';

/** One request the gateway has routed and not yet finished. */
export interface Flight {
  rank: number;
  /** Prompt tokens (exact or estimated). */
  prompt: number;
  /** Output tokens streamed so far (the request's age in decode steps). */
  streamed: number;
  /** First output byte seen: the prompt is now resident KV, not queued. */
  started: boolean;
  /** Position in its rank's flight list (swap-remove). */
  slot: number;
}

export interface Decision {
  rank: number;
  /** Time since the oldest snapshot among the ranks the router saw, ms (NaN: never scraped). */
  viewAgeMs: number;
  /** Wall time of view build + router call, ns. */
  decisionNs: number;
  /** Per rank (all R ranks; NaN for ranks the router did not see): the inputs of its score. */
  load: Float64Array;
  inflight: Float64Array;
  waiting: Float64Array;
  running: Float64Array;
}

export class RoutingState {
  readonly R: number;
  readonly router: RouterDef;
  private horizon: Float64Array;
  /** Which projected load the router reads (the shared projector of src/routers/projections.ts). */
  private readonly projection: ProjectionSpec;
  private projector!: Projector;
  /** The survival curve the horizon and projector were built from. */
  private curveUsed: Float64Array | null = null;
  /** Projections of all R ranks, filled by the projector (a view with G = R). */
  private full!: Pick<RouterView, 'G' | 'projMean' | 'projVar' | 'projCut'>;
  private flightIds = 0;
  private readonly seed: number;
  readonly snapWaiting: Float64Array;
  readonly snapRunning: Float64Array;
  readonly snapKvUsage: Float64Array;
  readonly kvCap: Float64Array;
  /** performance.now() of each rank's last snapshot; NaN = none yet. */
  readonly snapAt: Float64Array;
  /** Requests routed to each rank since its snapshot (vLLM's local `waiting += 1` between stats updates). */
  readonly sinceSnap: Float64Array;
  readonly healthy: Uint8Array;
  readonly inflight: Float64Array;
  /** Σ prompt + streamed over started in-flight requests of each rank. */
  readonly kvTracked: Float64Array;
  /** Σ prompt over in-flight requests of each rank that have not streamed a byte yet. */
  readonly queuedTracked: Float64Array;
  private readonly flights: Flight[][];
  private readonly rstate = new Uint32Array(ROUTER_STATE_WORDS);
  private readonly idx: Int32Array; // compact index -> rank
  private readonly v: {
    waiting: Float64Array;
    running: Float64Array;
    kvTokens: Float64Array;
    queuedTokens: Float64Array;
    kvUsage: Float64Array;
    inflight: Float64Array;
    projMean: Float64Array;
    projVar: Float64Array;
    projCut: Float64Array;
  };
  private readonly req = { prompt: 0, waitedUs: 0, canHold: false };
  private projectedAt = -Infinity;

  /**
   * `projectEveryMs`: how often the projections of horizon routers are rebuilt from every tracked
   * request (between rebuilds each newly routed request is added, as the simulator's engines do
   * between snapshots); 0 rebuilds at every decision.
   */
  constructor(
    R: number,
    routerName: string,
    readonly params: RouterParams,
    readonly survival: SurvivalEstimator,
    seed = 1,
    readonly projectEveryMs = 100,
  ) {
    this.R = R;
    this.router = getRouter(routerName);
    this.projection = this.router.projection(params);
    if (this.projection.kind === 'cutoff' && (this.projection.predictor === 'oracle' || this.projection.predictor === 'noisy')) {
      // Both read a request's true output length, which a live server does not announce.
      throw new InputError('router.predictor', this.projection.predictor, 'needs the true output length, unknown to a live gateway; use median or none');
    }
    this.horizon = new Float64Array(0);
    const f = () => new Float64Array(R);
    this.snapWaiting = f();
    this.snapRunning = f();
    this.snapKvUsage = f().fill(NaN);
    this.kvCap = f().fill(NaN);
    this.snapAt = f().fill(NaN);
    this.sinceSnap = f();
    this.healthy = new Uint8Array(R);
    this.inflight = f();
    this.kvTracked = f();
    this.queuedTracked = f();
    this.flights = Array.from({ length: R }, () => []);
    this.idx = new Int32Array(R);
    this.v = {
      waiting: f(),
      running: f(),
      kvTokens: f(),
      queuedTokens: f(),
      kvUsage: f(),
      inflight: f(),
      projMean: new Float64Array(0),
      projVar: new Float64Array(0),
      projCut: new Float64Array(0),
    };
    this.seed = seed;
    this.useCurve();
    this.router.init(this.rstate, seed, R);
  }

  /** Replace rank r's snapshot with a scrape (undefined: the scrape had no engine for it). */
  applySnapshot(r: number, s: EngineStats | undefined, now: number): void {
    this.snapWaiting[r] = s ? s.waiting : 0;
    this.snapRunning[r] = s ? s.running : 0;
    this.snapKvUsage[r] = s ? s.kvUsage : NaN;
    if (s && Number.isFinite(s.kvCapacityTokens)) this.kvCap[r] = s.kvCapacityTokens;
    this.snapAt[r] = now;
    this.sinceSnap[r] = 0;
  }

  setHealthy(r: number, up: boolean): void {
    this.healthy[r] = up ? 1 : 0;
  }

  healthyCount(): number {
    let n = 0;
    for (let r = 0; r < this.R; r++) n += this.healthy[r];
    return n;
  }

  /**
   * Route a request of `prompt` tokens among healthy ranks other than `exclude` and not marked in
   * `taken` (wave admission: the ranks already given a request in this wave); null when there is
   * none. Records the flight on the chosen rank.
   */
  decide(prompt: number, exclude: number = -1, withInputs = true, taken?: Uint8Array): { decision: Decision; flight: Flight } | null {
    const t0 = process.hrtime.bigint();
    const R = this.R;
    let G = 0;
    for (let r = 0; r < R; r++) if (this.healthy[r] && r !== exclude && !(taken && taken[r])) this.idx[G++] = r;
    if (G === 0) return null;
    const v = this.v;
    const now = performance.now();
    let oldest = Infinity;
    let cap = Infinity;
    for (let c = 0; c < G; c++) {
      const r = this.idx[c];
      v.waiting[c] = this.snapWaiting[r] + this.sinceSnap[r];
      v.running[c] = this.snapRunning[r];
      v.kvTokens[c] = this.kvTracked[r];
      v.queuedTokens[c] = this.queuedTracked[r];
      const capR = this.kvCap[r];
      const u = this.snapKvUsage[r];
      v.kvUsage[c] = Number.isFinite(u) ? u : Number.isFinite(capR) && capR > 0 ? Math.min(1, (this.kvTracked[r] + this.queuedTracked[r]) / capR) : 0;
      v.inflight[c] = this.inflight[r];
      if (this.snapAt[r] < oldest) oldest = this.snapAt[r];
      if (capR < cap) cap = capR;
    }
    const surv = this.survival.curve;
    if (surv !== this.curveUsed) {
      // The survival estimate moved on (more completions): new horizon points, fresh projections.
      this.useCurve();
      this.projectedAt = -Infinity;
    }
    const J = this.horizon.length;
    if (J > 0) {
      if (now - this.projectedAt >= this.projectEveryMs) this.rebuildProjections(now);
      const f = this.full;
      for (let j = 0; j < J; j++) {
        for (let c = 0; c < G; c++) {
          const from = j * R + this.idx[c];
          if (f.projMean.length) {
            v.projMean[j * G + c] = f.projMean[from];
            v.projVar[j * G + c] = f.projVar[from];
          }
          if (f.projCut.length) v.projCut[j * G + c] = f.projCut[from];
        }
      }
    }
    const view: RouterView = {
      G,
      waiting: v.waiting,
      running: v.running,
      kvTokens: v.kvTokens,
      queuedTokens: v.queuedTokens,
      kvUsage: v.kvUsage,
      inflight: v.inflight,
      kvCapacity: Number.isFinite(cap) ? cap : 0,
      horizonSteps: this.horizon,
      projMean: v.projMean,
      projVar: v.projVar,
      projCut: v.projCut,
      outputSurvival: surv,
    };
    this.req.prompt = prompt;
    const c = this.router.route(view, this.req, this.params, this.rstate);
    if (!(Number.isInteger(c) && c >= 0 && c < G)) throw new Error(`router ${this.router.name} returned rank ${c} (G=${G})`);
    const rank = this.idx[c];
    const decisionNs = Number(process.hrtime.bigint() - t0);
    const n = withInputs ? R : 0;
    const load = new Float64Array(n).fill(NaN);
    const inflight = new Float64Array(n).fill(NaN);
    const waiting = new Float64Array(n).fill(NaN);
    const running = new Float64Array(n).fill(NaN);
    for (let k = 0; k < G && withInputs; k++) {
      const r = this.idx[k];
      load[r] = loadOf(view, k);
      inflight[r] = v.inflight[k];
      waiting[r] = v.waiting[k];
      running[r] = v.running[k];
    }
    const flight = this.admit(rank, prompt);
    return { decision: { rank, viewAgeMs: Number.isFinite(oldest) ? now - oldest : NaN, decisionNs, load, inflight, waiting, running }, flight };
  }

  /** Rebuild every rank's projected load from its tracked requests (the engine's rule). */
  rebuildProjections(now = performance.now()): void {
    this.projector.clear(this.full as RouterView);
    for (let r = 0; r < this.R; r++) for (const f of this.flights[r]) this.addProjection(f);
    this.projectedAt = now;
  }

  /** Horizon points and projector for the current survival estimate (fast_phi's points follow it). */
  private useCurve(): void {
    const surv = this.survival.curve;
    this.curveUsed = surv;
    this.horizon = Float64Array.from(this.router.horizon(this.params, surv));
    this.projector = createProjector(this.projection, this.horizon, surv, this.seed);
    const J = this.horizon.length;
    const R = this.R;
    const all = projectionSizes(this.projection, J, R);
    this.full = { G: R, projMean: new Float64Array(all.mean), projVar: new Float64Array(all.mean), projCut: new Float64Array(all.cut) };
    // The view's arrays hold up to R ranks (fewer when some are unhealthy).
    this.v.projMean = new Float64Array(all.mean);
    this.v.projVar = new Float64Array(all.mean);
    this.v.projCut = new Float64Array(all.cut);
  }

  /** Add request f (age = tokens streamed, load = prompt + streamed) to its rank's projection. */
  private addProjection(f: Flight): void {
    if (this.horizon.length === 0) return;
    // No true remaining length live (oracle/noisy are refused): NaN is never read.
    this.projector.add(this.full as RouterView, f.rank, this.flightIds++, f.prompt + f.streamed, f.streamed, NaN);
  }

  /** Put a request on rank r without asking the router (client-pinned rank). */
  admit(r: number, prompt: number): Flight {
    const list = this.flights[r];
    const f: Flight = { rank: r, prompt, streamed: 0, started: false, slot: list.length };
    list.push(f);
    // Between rebuilds the newcomer is added on top, like the engines' optimistic bookkeeping.
    this.addProjection(f);
    this.inflight[r] += 1;
    this.queuedTracked[r] += prompt;
    this.sinceSnap[r] += 1;
    return f;
  }

  /** Output bytes arrived: `tokens` more output tokens. The first call moves the prompt to KV. */
  progress(f: Flight, tokens: number): void {
    if (f.slot < 0) return;
    if (!f.started) {
      f.started = true;
      this.queuedTracked[f.rank] -= f.prompt;
      this.kvTracked[f.rank] += f.prompt;
    }
    f.streamed += tokens;
    this.kvTracked[f.rank] += tokens;
  }

  /** The request ended (any outcome): its KV leaves the rank. */
  finish(f: Flight): void {
    if (f.slot < 0) return;
    const list = this.flights[f.rank];
    const last = list.pop()!;
    if (last !== f) {
      list[f.slot] = last;
      last.slot = f.slot;
    }
    f.slot = -1;
    this.inflight[f.rank] -= 1;
    if (f.started) this.kvTracked[f.rank] -= f.prompt + f.streamed;
    else this.queuedTracked[f.rank] -= f.prompt;
  }
}
