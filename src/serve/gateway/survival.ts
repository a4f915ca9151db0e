// Output-length survival curve for routers that project loads ahead (brh, fast_phi).
// Until `minCompletions` requests have finished it is the curve of a built-in workload profile;
// after that it is the empirical curve of the last `window` completed requests. The curve is
// rebuilt at most every `rebuildEvery` completions so a decision never pays for it.
import { getProfile } from '../../workload/profiles.ts';
import { outputSurvival } from '../../workload/build.ts';
import { DEFAULT_SURVIVAL } from './defaults.ts';

export interface SurvivalOptions {
  /** Built-in profile whose output lengths bootstrap the curve. */
  profile: string;
  /** Completions needed before the gateway trusts its own curve. */
  minCompletions: number;
  /** Completions kept (most recent). */
  window: number;
  /** Rebuild the curve after this many new completions. */
  rebuildEvery: number;
}

export { DEFAULT_SURVIVAL };

export class SurvivalEstimator {
  private readonly ring: Int32Array;
  private count = 0; // completions seen in total
  private sinceRebuild = 0;
  private curveNow: Float64Array;
  private fromProfile = true;

  constructor(private readonly opts: SurvivalOptions = DEFAULT_SURVIVAL) {
    this.ring = new Int32Array(opts.window);
    this.curveNow = profileSurvival(opts.profile);
  }

  /** Record one completed request's output length (tokens). */
  record(outputTokens: number): void {
    if (!(outputTokens >= 1)) return; // failed or empty requests say nothing about lengths
    this.ring[this.count % this.ring.length] = Math.min(outputTokens, 2 ** 20);
    this.count++;
    this.sinceRebuild++;
    if (this.count >= this.opts.minCompletions && (this.fromProfile || this.sinceRebuild >= this.opts.rebuildEvery)) {
      this.curveNow = outputSurvival(this.ring.subarray(0, Math.min(this.count, this.ring.length)));
      this.fromProfile = false;
      this.sinceRebuild = 0;
    }
  }

  /** P(output > a) for a = 0..len-1. */
  get curve(): Float64Array {
    return this.curveNow;
  }

  /** 'profile:<name>' until enough completions, then 'observed'. */
  get source(): string {
    return this.fromProfile ? `profile:${this.opts.profile}` : 'observed';
  }

  get completions(): number {
    return this.count;
  }
}

/** Survival curve of a profile's output-length quantile table (each quantile an equal-weight sample). */
export function profileSurvival(name: string): Float64Array {
  const q = getProfile(name, 'survival_profile').outputQuantiles;
  const sample = new Int32Array(q.length);
  for (let i = 0; i < q.length; i++) sample[i] = Math.max(1, Math.round(q[i]));
  return outputSurvival(sample);
}
