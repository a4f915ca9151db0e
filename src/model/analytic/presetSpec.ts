/** The stored (JSON) form of a step-time preset or model file: docs/model.md, "Model file format". */
import type { StepCoefficient, StepCurve } from '../types.ts';

/**
 * How the default KV capacity per rank follows from memory: the rank holds the shared weights and
 * 1/G of the expert weights (expert parallel), a reserve for activations and CUDA graphs, and
 * the rest of `utilization * memoryBytes` is KV cache.
 */
export interface KvMemorySpec {
  memoryBytes: number;
  utilization: number;
  sharedWeightBytes: number;
  expertWeightBytes: number;
  reserveBytes: number;
  kvBytesPerToken: number;
  blockSize: number;
}

/** Terms of one DP size in a model file (`byDp`): coefficients replaced and/or a curve. */
export interface DpTermsSpec {
  coefficients?: Partial<Record<StepCoefficient, number>>;
  maxRankTokenCurve?: StepCurve;
}

/** A preset as stored (JSON-compatible): coefficients in integer picoseconds. */
export interface PresetSpec {
  name: string;
  description: string;
  /** The nine original coefficients are required; perPrefillKvToken and perMixedDecodeKvToken default to 0. */
  coefficients: Partial<Record<StepCoefficient, number>>;
  /**
   * Ratio b/a of the mean-KV group term to the per-rank KV term: when given, perMeanKvToken =
   * round(meanKvRatio * perKvTokenRead) (also in each byDp entry that sets perKvTokenRead).
   */
  meanKvRatio?: number;
  /**
   * Model files only: a preset whose fields this file starts from (coefficients merged key by key;
   * a meanKvRatio here replaces the preset's perMeanKvToken).
   */
  extends?: string;
  /** Lookup-table term on the largest rank's token count, for every DP size without its own. */
  maxRankTokenCurve?: StepCurve;
  /** Per-DP-size terms; when present, only these DP sizes may be simulated. Keys are DP sizes. */
  byDp?: Record<string, DpTermsSpec>;
  maxModelLen: number;
  kvMemory?: KvMemorySpec;
  /** Fixed KV capacity per rank in tokens (used when kvMemory is absent). */
  kvCapacityTokens?: number;
  /** Async scheduling (docs/model.md §3); absent = true, vLLM's default since late 2025. */
  asyncScheduling?: boolean;
  /** Front-end terms of client-anchored metrics, µs (docs/model.md §8); absent = 0. */
  frontend?: { ingressUs?: number; egressUs?: number; perTokenUs?: number };
  /** Free-form record of how the numbers were obtained (ignored by the loader). */
  derivation?: unknown;
}
