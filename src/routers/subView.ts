/**
 * A router's view restricted to some of the ranks: the same RouterView over the ranks not
 * excluded, compacted to 0..G'−1, with `idx` mapping a compact index back to the rank. Wave
 * dispatch (docs/model.md §4) uses it to let the router choose among the ranks not yet given a
 * request in the current wave. Per-rank arrays and the projection rows ([j*G + g]) are copied;
 * no array is allocated per call.
 */
import type { RouterView } from './types.ts';

export class SubView {
  /** Compact index -> rank of the full view (valid for the last `of`). */
  readonly idx: Int32Array;
  private readonly waiting: Float64Array;
  private readonly running: Float64Array;
  private readonly kvTokens: Float64Array;
  private readonly queuedTokens: Float64Array;
  private readonly kvUsage: Float64Array;
  private readonly inflight: Float64Array;
  private readonly projMean: Float64Array;
  private readonly projVar: Float64Array;
  private readonly projCut: Float64Array;

  /** `full` fixes G and the projection sizes (the view's arrays may change content, not shape). */
  constructor(full: RouterView) {
    const G = full.G;
    const f = () => new Float64Array(G);
    this.idx = new Int32Array(G);
    this.waiting = f();
    this.running = f();
    this.kvTokens = f();
    this.queuedTokens = f();
    this.kvUsage = f();
    this.inflight = f();
    this.projMean = new Float64Array(full.projMean.length);
    this.projVar = new Float64Array(full.projVar.length);
    this.projCut = new Float64Array(full.projCut.length);
  }

  /** The view over the ranks g with `excluded[g] === 0`; G' = 0 when every rank is excluded. */
  of(full: RouterView, excluded: Uint8Array): RouterView {
    const G = full.G;
    let n = 0;
    for (let g = 0; g < G; g++) {
      if (excluded[g]) continue;
      this.idx[n] = g;
      this.waiting[n] = full.waiting[g];
      this.running[n] = full.running[g];
      this.kvTokens[n] = full.kvTokens[g];
      this.queuedTokens[n] = full.queuedTokens[g];
      this.kvUsage[n] = full.kvUsage[g];
      this.inflight[n] = full.inflight[g];
      n++;
    }
    const J = full.horizonSteps.length;
    const mean = full.projMean.length > 0;
    const cut = full.projCut.length > 0;
    if (J > 0 && (mean || cut)) {
      for (let j = 0; j < J; j++) {
        for (let c = 0; c < n; c++) {
          const from = j * G + this.idx[c];
          if (mean) {
            this.projMean[j * n + c] = full.projMean[from];
            this.projVar[j * n + c] = full.projVar[from];
          }
          if (cut) this.projCut[j * n + c] = full.projCut[from];
        }
      }
    }
    return {
      G: n,
      waiting: this.waiting,
      running: this.running,
      kvTokens: this.kvTokens,
      queuedTokens: this.queuedTokens,
      kvUsage: this.kvUsage,
      inflight: this.inflight,
      kvCapacity: full.kvCapacity,
      horizonSteps: full.horizonSteps,
      projMean: this.projMean,
      projVar: this.projVar,
      projCut: this.projCut,
      outputSurvival: full.outputSurvival,
    };
  }
}
