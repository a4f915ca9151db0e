/**
 * Built-in workload profiles: length distributions (quantile tables = empirical inverse CDFs,
 * plus lognormal fits) and arrival statistics derived from public traces by
 * scripts/fit-profiles.ts. They ship inside the package (src/workload/profiles/*.json), so the
 * default run needs no data files. See src/workload/profiles/ATTRIBUTION.md for sources.
 *
 * A profile's prompt and output lengths are sampled independently from their marginal
 * distributions: the joint correlation of the source trace is not kept (replay the trace with
 * `source: trace` when it matters).
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../errors.ts';

/** Summary statistics of one length column, in tokens. */
export interface LengthStats {
  min: number;
  mean: number;
  median: number;
  p90: number;
  p99: number;
  max: number;
}

/** One length column of a profile file. */
export interface LengthProfileFile {
  stats: LengthStats;
  /** Maximum-likelihood lognormal fit: median = exp(mean ln x), sigma = sd of ln x. */
  lognormal: { median: number; sigma: number };
  /** Quantiles at p = i/(quantilePoints-1), i = 0..quantilePoints-1 (type-7 interpolation). */
  quantiles: number[];
}

/** The JSON layout of src/workload/profiles/<name>.json (written by scripts/fit-profiles.ts). */
export interface ProfileFile {
  name: string;
  description: string;
  source: { dataset: string; origin: string; licence: string; citation: string; file?: string };
  /** Number of requests in the source trace. */
  n: number;
  quantilePoints: number;
  /** The source trace's own arrival statistics (informational; synthetic arrivals use the spec). */
  arrivals: { durationS: number; meanRate: number; interArrivalCv: number };
  prompt: LengthProfileFile;
  output: LengthProfileFile;
}

/** A loaded profile: the file plus quantile tables as typed arrays for the samplers. */
export interface WorkloadProfile extends ProfileFile {
  promptQuantiles: Float64Array;
  outputQuantiles: Float64Array;
}

/** Names of the built-in profiles, in listing order. */
export const PROFILE_NAMES = ['sharegpt', 'azure_conv', 'azure_code'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

const loaded = new Map<string, WorkloadProfile>();

export function isProfileName(name: unknown): name is ProfileName {
  return typeof name === 'string' && (PROFILE_NAMES as readonly string[]).includes(name);
}

/**
 * Load a built-in profile by name. `field` names the input that carried the name in errors
 * ('workload' for a spec's source, 'prompt.profile' / 'output.profile' for empirical lengths).
 */
export function getProfile(name: string, field = 'workload'): WorkloadProfile {
  if (!isProfileName(name)) {
    throw new InputError(field, name, `unknown workload profile; known: ${PROFILE_NAMES.join(', ')} (or 'trace' with a trace file)`);
  }
  let p = loaded.get(name);
  if (!p) {
    const file = JSON.parse(readFileSync(new URL(`./profiles/${name}.json`, import.meta.url), 'utf8')) as ProfileFile;
    p = { ...file, promptQuantiles: Float64Array.from(file.prompt.quantiles), outputQuantiles: Float64Array.from(file.output.quantiles) };
    loaded.set(name, p);
  }
  return p;
}

/** One line per profile for `presets` / `workloads` listings (JSON-friendly). */
export interface ProfileListing {
  name: string;
  description: string;
  n: number;
  source: string;
  licence: string;
  rate: number;
  interArrivalCv: number;
  prompt: LengthStats;
  output: LengthStats;
}

export function listProfiles(): ProfileListing[] {
  return PROFILE_NAMES.map((name) => {
    const p = getProfile(name);
    return {
      name,
      description: p.description,
      n: p.n,
      source: p.source.origin,
      licence: p.source.licence,
      rate: p.arrivals.meanRate,
      interArrivalCv: p.arrivals.interArrivalCv,
      prompt: p.prompt.stats,
      output: p.output.stats,
    };
  });
}
