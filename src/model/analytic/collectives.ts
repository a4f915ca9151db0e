/**
 * Cost of the expert-parallel collectives vLLM runs around every MoE layer under DP+EP
 * (all-gather of the tokens before the experts, reduce-scatter of their outputs after;
 * docs/step-model.md §4), as a function of the bytes each rank contributes.
 */
import type { GpuSpec } from './gpus.ts';

export interface CollectiveModel {
  name: string;
  source: string;
  /** All-gather where each of G ranks contributes `bytes`; µs. */
  allGatherUs(bytes: number, G: number): number;
  /** Reduce-scatter where each of G ranks receives `bytes`; µs. */
  reduceScatterUs(bytes: number, G: number): number;
}

type Points = readonly (readonly [number, number])[];

/**
 * NCCL collectives between two RTX PRO 6000 Blackwell Server Edition cards over PCIe 5.0 (no
 * NVLink), measured with vLLM's PyNcclCommunicator inside CUDA graphs: median of three runs of
 * five trials (bytes per rank -> µs). Source: casys-kaist/LLMServingSim,
 * profiler/perf/RTXPRO6000/hardware.yaml ("measured.interconnect.samples", MIT licence).
 */
const RTXPRO6000_ALL_GATHER: Points = [
  [4096, 10.5], [8192, 11.41], [10240, 11.64], [16384, 11.94], [32768, 12.49], [40960, 12.68],
  [65536, 13.62], [131072, 16.76], [139264, 16.69], [262144, 18.83], [327680, 20.89],
  [524288, 26.92], [557056, 27.11], [1048576, 45.78], [1114112, 45.39], [1310720, 51.63],
  [2097152, 76.34], [2228224, 80.46], [4194304, 142.29], [5242880, 178.35], [8388608, 277.42],
  [8912896, 296.74], [16777216, 546.24], [20971520, 682.89],
];
const RTXPRO6000_REDUCE_SCATTER: Points = [
  [4096, 9.83], [8192, 10.55], [10240, 10.67], [16384, 11.35], [32768, 11.72], [40960, 12.58],
  [65536, 12.75], [131072, 15.63], [139264, 16.2], [262144, 21.07], [327680, 23.11],
  [524288, 29.36], [557056, 31.13], [1048576, 49.27], [1114112, 51.53], [1310720, 59.12],
  [2097152, 88.41], [2228224, 93.21], [4194304, 166.65], [5242880, 207.65], [8388608, 324.55],
  [8912896, 347.64], [16777216, 635.42], [20971520, 786.53],
];

/** Piecewise-linear in bytes; clamped below the first point, extrapolated beyond the last. */
function lookup(points: Points, bytes: number): number {
  if (bytes <= points[0][0]) return points[0][1];
  let i = 1;
  while (i < points.length - 1 && points[i][0] < bytes) i++;
  const [x0, y0] = points[i - 1];
  const [x1, y1] = points[i];
  return y0 + ((y1 - y0) * (bytes - x0)) / (x1 - x0);
}

/**
 * Measured two-card table; for G > 2 a ring does G - 1 such exchanges (an extrapolation: the
 * measurement covers two cards only).
 */
export const RTXPRO6000_PCIE_NCCL: CollectiveModel = {
  name: 'rtxpro6000-pcie-nccl',
  source:
    'NCCL all-gather / reduce-scatter between two RTX PRO 6000 Blackwell Server Edition cards over PCIe 5.0, measured inside CUDA graphs ' +
    '(casys-kaist/LLMServingSim profiler/perf/RTXPRO6000/hardware.yaml); G > 2 extrapolated as G - 1 ring steps',
  allGatherUs: (bytes, G) => (G <= 1 ? 0 : (G - 1) * lookup(RTXPRO6000_ALL_GATHER, bytes)),
  reduceScatterUs: (bytes, G) => (G <= 1 ? 0 : (G - 1) * lookup(RTXPRO6000_REDUCE_SCATTER, bytes)),
};

/** Latency + bytes / (efficiency x link bandwidth) per ring step, from a GPU's datasheet link. */
export function analyticCollectives(gpu: GpuSpec, linkEfficiency = 0.7): CollectiveModel {
  const step = (bytes: number) => gpu.interconnect.latencySeconds * 1e6 + (bytes / (linkEfficiency * gpu.interconnect.bytesPerSecond)) * 1e6;
  return {
    name: `${gpu.key}-${gpu.interconnect.kind}-analytic`,
    source: `${gpu.interconnect.source}; ${Math.round(linkEfficiency * 100)}% of link bandwidth achieved (assumption); G - 1 ring steps`,
    allGatherUs: (bytes, G) => (G <= 1 ? 0 : (G - 1) * step(bytes)),
    reduceScatterUs: (bytes, G) => (G <= 1 ? 0 : (G - 1) * step(bytes)),
  };
}

/** The best collective model available for a GPU: measured where we have data, else analytic. */
export function collectivesFor(gpu: GpuSpec): CollectiveModel {
  return gpu.key === 'rtxpro6000' ? RTXPRO6000_PCIE_NCCL : analyticCollectives(gpu);
}

/**
 * A ring all-reduce of `bytes` over G ranks (tensor parallelism's all-reduce after the attention
 * output and the MLP down projection): a reduce-scatter in which each rank receives bytes / G, then
 * an all-gather in which each contributes bytes / G (the ring algorithm's two phases, NCCL's
 * default for these sizes). Built from the measured all-gather and reduce-scatter tables, not
 * measured itself; vLLM's custom all-reduce (one-shot over peer-to-peer PCIe) can be faster for
 * small messages where the GPUs allow peer access.
 */
export function allReduceUs(c: CollectiveModel, bytes: number, G: number): number {
  if (G <= 1) return 0;
  return c.reduceScatterUs(bytes / G, G) + c.allGatherUs(bytes / G, G);
}
