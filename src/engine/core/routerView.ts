/**
 * The router's view of the ranks (docs/model.md §4): a snapshot refreshed at most every
 * `stats_interval_ms` (or whenever the state changed, with interval 0), the router's optimistic
 * bookkeeping between refreshes, and the projected loads for routers with a horizon.
 * Everything a router sees is projected here, in one place.
 */
import { createProjector, projectionSizes, type Projector } from '../../routers/projections.ts';
import type { ProjectionSpec, RouterView } from '../../routers/types.ts';
import type { DecodeSet } from './decodeSet.ts';
import type { CoreState } from './state.ts';
import { makeDoubleFields } from '../../doubleFields.ts';

export class RouterViewState {
  readonly view: RouterView;
  private readonly H: number;
  /** Fills the projection arrays (survival-weighted or binary cutoff; routers/projections.ts). */
  private readonly projector: Projector;
  private readonly statsUs: number;
  private nextSnapUs = -1; // refresh at the first decision
  /** State changed since the last snapshot (only matters when statsUs == 0). */
  dirty = true;
  /**
   * Prefill/decode disaggregation (docs/pd.md; set by the core when it has KV transfers): the
   * snapshot counts a request whose transfer is in flight as waiting on its rank, and counts as
   * queued tokens the KV that waiting and in-flight requests bring (prompt + generated: a
   * prefilled request's p - 1 computed tokens are load about to land, not load done).
   */
  transfers: { readonly count: Float64Array; readonly tokens: Float64Array; forEachInFlight(fn: (r: number) => void): void } | undefined = undefined;
  /**
   * Set by the core while it routes with some ranks not brought up to date (an arrival inside a
   * decode stretch, for a router that does not read KV usage): the KV tokens each rank will have
   * added by then, which a snapshot counts.
   */
  kvLag: Float64Array | undefined = undefined;
  /** The event-driven core's decode sets: running requests whose progress is kept there. */
  ds: DecodeSet | undefined = undefined;

  /**
   * `projection` and `horizon` come from the router (def.projection(params), def.horizon(params,
   * survival)); `seed` is the run's seed (the noisy predictor's stream). The projector keys its
   * per-request draws by request id, so requests may keep arriving (the core's arrays grow).
   */
  constructor(
    st: CoreState,
    projection: ProjectionSpec,
    horizon: readonly number[],
    outputSurvival: Float64Array,
    seed: number,
    statsUs: number,
  ) {
    const G = st.G;
    this.H = horizon.length;
    this.projector = createProjector(projection, horizon, outputSurvival, seed);
    const size = projectionSizes(projection, this.H, G);
    this.statsUs = statsUs;
    this.view = {
      G,
      waiting: new Float64Array(G),
      running: new Float64Array(G),
      kvTokens: new Float64Array(G),
      queuedTokens: new Float64Array(G),
      kvUsage: new Float64Array(G),
      inflight: st.inflight,
      kvCapacity: st.totalBlocks * st.BS,
      horizonSteps: Float64Array.from(horizon),
      projMean: new Float64Array(size.mean),
      projVar: new Float64Array(size.mean),
      projCut: new Float64Array(size.cut),
      outputSurvival: outputSurvival,
    };
    makeDoubleFields(this, ['nextSnapUs']);
  }

  /** Before a decision at time t: retake the snapshot when it is due. */
  beforeDecision(st: CoreState, t: number): void {
    if (this.refreshDue(t)) {
      this.refresh(st);
      this.nextSnapUs = t + this.statsUs;
    }
  }

  /** The snapshot reads the ranks' running requests one by one (projections). */
  get readsRequests(): boolean {
    return this.H > 0;
  }

  /** Whether a decision at time t retakes the snapshot (reads the ranks' state). */
  refreshDue(t: number): boolean {
    return this.statsUs === 0 ? this.dirty : t >= this.nextSnapUs;
  }

  /** Optimistic bookkeeping after sending request r (prompt p) to rank g. */
  afterRoute(st: CoreState, g: number, r: number): void {
    const p = st.prompt[r];
    this.view.waiting[g] += 1;
    this.view.queuedTokens[g] += p;
    if (this.H > 0) this.addProjection(st, g, r, p, st.generated[r]);
  }

  refresh(st: CoreState): void {
    const view = this.view;
    const G = st.G;
    const totalBlocks = st.totalBlocks;
    const lag = this.kvLag;
    // (Arrays in locals: V8 would load each from its object on every iteration.)
    const { waiting, running, kvTokens, queuedTokens, kvUsage } = view;
    const { nWaiting, nRun, kvTok, queuedTok, freeBlocks } = st;
    for (let g = 0; g < G; g++) {
      waiting[g] = nWaiting[g];
      running[g] = nRun[g];
      kvTokens[g] = lag === undefined ? kvTok[g] : kvTok[g] + lag[g];
      queuedTokens[g] = queuedTok[g];
      kvUsage[g] = totalBlocks > 0 ? (totalBlocks - freeBlocks[g]) / totalBlocks : 0;
    }
    const x = this.transfers;
    if (x) {
      const { prompt, generated, wHead, wNext } = st;
      for (let g = 0; g < G; g++) {
        view.waiting[g] += x.count[g];
        let q = x.tokens[g];
        for (let r = wHead[g]; r >= 0; r = wNext[r]) q += prompt[r] + generated[r];
        view.queuedTokens[g] = q;
      }
    }
    if (this.H > 0) {
      this.projector.clear(view);
      const { run, computed, prompt, generated, wHead, wNext } = st;
      const RS = st.RS;
      const ds = this.ds;
      for (let g = 0; g < G; g++) {
        const end = st.nRun[g] + st.holes[g];
        for (let i = 0; i < end; i++) {
          const r = run[g * RS + i];
          if (r < 0) continue; // a hole (event core)
          if (ds !== undefined && ds.isMember(r)) this.addProjection(st, g, r, ds.computedOf(st, g, r), ds.generatedOf(st, g, r));
          else this.addProjection(st, g, r, computed[r], generated[r]);
        }
        for (let r = wHead[g]; r >= 0; r = wNext[r]) this.addProjection(st, g, r, prompt[r] + generated[r], generated[r]);
      }
      // In-flight KV transfers (docs/pd.md): their requests load their ranks from now on.
      this.transfers?.forEachInFlight((r) => this.addProjection(st, st.rankOf[r], r, prompt[r], generated[r]));
    }
    this.dirty = false;
  }

  /**
   * Add request r (current KV load w, age = generated tokens gen) to rank g's projected load. The
   * oracle and noisy predictors read the true remaining output (output − generated), which the
   * core always has: every request is submitted with its output length.
   */
  private addProjection(st: CoreState, g: number, r: number, w: number, gen: number): void {
    this.projector.add(this.view, g, r, w, gen, st.output[r] - gen);
  }
}
