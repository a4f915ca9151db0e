/**
 * The router's view of the ranks (docs/model.md §4): a snapshot refreshed at most every
 * `stats_interval_ms` (or whenever the state changed, with interval 0), the router's optimistic
 * bookkeeping between refreshes, and the projected loads for routers with a horizon.
 * Everything a router sees is projected here, in one place.
 */
import type { RouterView } from '../../routers/types.ts';
import type { CoreState } from './state.ts';

export class RouterViewState {
  readonly view: RouterView;
  private readonly horizon: readonly number[];
  private readonly H: number;
  private readonly surv: Float64Array;
  private readonly statsUs: number;
  private nextSnapUs = -1; // refresh at the first decision
  /** State changed since the last snapshot (only matters when statsUs == 0). */
  dirty = true;

  constructor(st: CoreState, horizon: readonly number[], outputSurvival: Float64Array, statsUs: number) {
    const G = st.G;
    this.horizon = horizon;
    this.H = horizon.length;
    this.surv = outputSurvival;
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
      projMean: new Float64Array(this.H * G),
      projVar: new Float64Array(this.H * G),
      outputSurvival: outputSurvival,
    };
  }

  /** Before a decision at time t: retake the snapshot when it is due. */
  beforeDecision(st: CoreState, t: number): void {
    if (this.statsUs === 0 ? this.dirty : t >= this.nextSnapUs) {
      this.refresh(st);
      this.nextSnapUs = t + this.statsUs;
    }
  }

  /** Optimistic bookkeeping after sending request r (prompt p) to rank g. */
  afterRoute(st: CoreState, g: number, r: number): void {
    const p = st.prompt[r];
    this.view.waiting[g] += 1;
    this.view.queuedTokens[g] += p;
    if (this.H > 0) this.addProjection(st, g, r, p);
  }

  refresh(st: CoreState): void {
    const view = this.view;
    const G = st.G;
    const totalBlocks = st.totalBlocks;
    for (let g = 0; g < G; g++) {
      view.waiting[g] = st.nWaiting[g];
      view.running[g] = st.nRun[g];
      view.kvTokens[g] = st.kvTok[g];
      view.queuedTokens[g] = st.queuedTok[g];
      view.kvUsage[g] = totalBlocks > 0 ? (totalBlocks - st.freeBlocks[g]) / totalBlocks : 0;
    }
    if (this.H > 0) {
      view.projMean.fill(0);
      view.projVar.fill(0);
      const { run, computed, prompt, generated, wHead, wNext } = st;
      const B = st.B;
      for (let g = 0; g < G; g++) {
        for (let i = 0; i < st.nRun[g]; i++) this.addProjection(st, g, run[g * B + i], computed[run[g * B + i]]);
        for (let r = wHead[g]; r >= 0; r = wNext[r]) this.addProjection(st, g, r, prompt[r] + generated[r]);
      }
    }
    this.dirty = false;
  }

  /** Add request r (current KV load w, age = generated tokens) to rank g's projected load. */
  private addProjection(st: CoreState, g: number, r: number, w: number): void {
    const view = this.view;
    const G = st.G;
    const horizon = this.horizon;
    const a = st.generated[r];
    const sa = this.survAt(a);
    for (let j = 0; j < this.H; j++) {
      const h = horizon[j];
      const q = sa > 0 ? this.survAt(Math.floor(a + h)) / sa : h === 0 ? 1 : 0;
      const load = w + h;
      view.projMean[j * G + g] += q * load;
      view.projVar[j * G + g] += q * (1 - q) * load * load;
    }
  }

  private survAt(a: number): number {
    return a < this.surv.length ? this.surv[a] : 0;
  }
}
