import type { TimeSeries } from '../../metrics/types.ts';

/** Per-step, per-rank time series (`--timeseries`), appended row by row. */
export class SeriesBuilder {
  private readonly step: number[] = [];
  private readonly time: number[] = [];
  private readonly rank: number[] = [];
  private readonly kv: number[] = [];
  private readonly running: number[] = [];
  private readonly waiting: number[] = [];
  private readonly rankStep: number[] = [];
  private readonly stepLen: number[] = [];

  /** One row per rank g in [g0, g1) for step s starting at t. */
  add(s: number, t: number, stepUs: number, g0: number, g1: number, kvTok: Float64Array, nRun: Int32Array, nWait: Int32Array, rankUs: Float64Array): void {
    for (let g = g0; g < g1; g++) {
      this.step.push(s);
      this.time.push(t);
      this.rank.push(g);
      this.kv.push(kvTok[g]);
      this.running.push(nRun[g]);
      this.waiting.push(nWait[g]);
      this.rankStep.push(rankUs[g]);
      this.stepLen.push(stepUs);
    }
  }

  build(): TimeSeries {
    return {
      step: Int32Array.from(this.step),
      time_us: Float64Array.from(this.time),
      rank: Int32Array.from(this.rank),
      kv_tokens: Float64Array.from(this.kv),
      running: Int32Array.from(this.running),
      waiting: Int32Array.from(this.waiting),
      rank_step_us: Float64Array.from(this.rankStep),
      step_us: Float64Array.from(this.stepLen),
    };
  }
}
