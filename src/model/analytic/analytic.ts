/**
 * Roofline derivation of a linear step-time preset from a model's architecture and a GPU's
 * specifications (docs/step-model.md §2). Every coefficient is "bytes / achieved bandwidth" or
 * "FLOPs / achieved FLOP rate"; the achieved fractions are stated assumptions, not measurements.
 */
import { architectureFigures, type ModelArchitecture } from './architecture.ts';
import type { GpuSpec } from './gpus.ts';
import type { PresetSpec } from './presetSpec.ts';

export interface AnalyticAssumptions {
  /** Fraction of peak memory bandwidth achieved by weight and KV streaming. */
  memoryEfficiency: number;
  /** Fraction of peak dense tensor FLOP/s achieved by prefill GEMMs and attention. */
  computeEfficiency: number;
  /** Fraction of the interconnect's bandwidth achieved by the EP dispatch and combine. */
  linkEfficiency: number;
  /** Per-step scheduling, sampling and launch overhead, seconds. */
  stepOverheadSeconds: number;
  /** Share of the compute roofline charged per decode sequence (the rest overlaps the weight stream). */
  decodeComputeShare: number;
  /** vLLM gpu_memory_utilization. */
  memoryUtilization: number;
  /** Memory kept for activations, CUDA graphs and communication buffers, bytes. */
  reserveBytes: number;
  blockSize: number;
}

export const DEFAULT_ASSUMPTIONS: AnalyticAssumptions = {
  memoryEfficiency: 0.7,
  computeEfficiency: 0.5,
  linkEfficiency: 0.7,
  stepOverheadSeconds: 0.5e-3,
  decodeComputeShare: 0.5,
  memoryUtilization: 0.9,
  reserveBytes: 4e9,
  blockSize: 16,
};

/** Bytes per activation element moved by the EP dispatch/combine (BF16). */
const ACTIVATION_BYTES = 2;

const ps = (seconds: number): number => Math.round(seconds * 1e12);

/** The analytic preset of `arch` on `gpu` (one GPU per DP rank, experts split across ranks). */
export function analyticPreset(
  name: string,
  arch: ModelArchitecture,
  gpu: GpuSpec,
  a: AnalyticAssumptions = DEFAULT_ASSUMPTIONS,
  modelLabel = arch.modelType,
  configSource = '',
): PresetSpec {
  const f = architectureFigures(arch);
  const bw = a.memoryEfficiency * gpu.memoryBytesPerSecond;
  // FP8 checkpoints run FP8 GEMMs where the GPU has FP8 tensor cores (weight-only FP8 otherwise).
  const gemmRate = a.computeEfficiency * (arch.weightBytes === 1 && gpu.fp8FlopsPerSecond > 0 ? gpu.fp8FlopsPerSecond : gpu.bf16FlopsPerSecond);
  const attnRate = a.computeEfficiency * gpu.bf16FlopsPerSecond;
  const link = a.linkEfficiency * gpu.interconnect.bytesPerSecond;
  const flopsPerToken = 2 * f.activeParams;
  const a2aBytesPerToken = 2 * arch.topK * arch.hidden * ACTIVATION_BYTES * f.moeLayers;
  const coefficients = {
    base: ps(f.sharedWeightBytes / bw),
    baseExperts: ps(f.expertWeightBytes / bw),
    perDecodeSeq: ps((a.decodeComputeShare * flopsPerToken) / gemmRate),
    perPrefillToken: ps(flopsPerToken / gemmRate),
    perKvTokenRead: ps(f.kvBytesPerToken / bw),
    perAttnKiloPair: ps((1024 * f.attnFlopsPerPair) / attnRate),
    a2aBase: f.moeLayers > 0 ? ps(2 * f.moeLayers * gpu.interconnect.latencySeconds) : 0,
    a2aPerMaxRankToken: f.moeLayers > 0 ? ps(a2aBytesPerToken / link) : 0,
    a2aPerToken: 0,
    perPrefillKvToken: 0,
    perMixedDecodeKvToken: 0,
    perMixedDecodeSeq: 0,
    perDecodeSkewToken: 0,
    // The per-step host overhead is a group term (docs/model.md §5), not a rank's compute.
    hostPerStep: ps(a.stepOverheadSeconds),
  };
  return {
    name,
    description: `${modelLabel}, ${arch.weightBytes === 1 ? 'FP8' : 'BF16'} weights, one ${gpu.name} per DP rank, EP across ranks (roofline-derived)`,
    coefficients,
    maxModelLen: arch.maxPositionEmbeddings,
    kvMemory: {
      memoryBytes: gpu.memoryBytes,
      utilization: a.memoryUtilization,
      sharedWeightBytes: f.sharedWeightBytes,
      expertWeightBytes: f.expertWeightBytes,
      reserveBytes: a.reserveBytes,
      kvBytesPerToken: f.kvBytesPerToken,
      blockSize: a.blockSize,
    },
    derivation: {
      method: 'roofline (docs/step-model.md §2)',
      model: configSource,
      gpu: gpu.source,
      interconnect: gpu.interconnect.source,
      assumptions: a,
      figures: {
        shared_weight_bytes: f.sharedWeightBytes,
        expert_weight_bytes: f.expertWeightBytes,
        active_params: f.activeParams,
        kv_bytes_per_token: f.kvBytesPerToken,
        attn_flops_per_pair: f.attnFlopsPerPair,
        moe_layers: f.moeLayers,
        a2a_bytes_per_token: a2aBytesPerToken,
      },
    },
  };
}
