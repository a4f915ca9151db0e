/**
 * Calibration: a step-time model fitted to a layer-wise vLLM profile (docs/step-model.md §3–§5).
 *
 * A step of one rank is the sum of the profile's tables scaled to the whole model:
 *   attention (x layers) + per-sequence layers (LM head, sampler; once)      -> per-rank terms
 *   dense layers (x their count) + MoE block (x MoE layers) + EP collectives -> lockstep terms
 * The per-rank part is fitted (non-negative weighted least squares on the attention grid, every
 * 5th point held out); the lockstep part, which every rank runs on the same padded token count
 * under DP+EP with CUDA graphs, becomes a lookup-table curve on the largest rank's token count,
 * one per DP size. The result is a model file for `--model FILE.json`.
 */
import { architectureFigures, architectureFromHfConfig, type ModelArchitecture } from '../model/analytic/architecture.ts';
import { allReduceUs, collectivesFor, type CollectiveModel } from '../model/analytic/collectives.ts';
import { findGpu, GPUS, type GpuSpec } from '../model/analytic/gpus.ts';
import { nonNegativeLeastSquares } from './leastSquares.ts';
import { modelFromSpec } from '../model/presets.ts';
import type { PresetSpec } from '../model/analytic/presetSpec.ts';
import { interpolate, moeLatency, readProfile, type Profile, type Series } from './profile.ts';
import { allToAllUs, hostStepUs, rankBasePs, rankStepUs, stepModelForDp } from '../model/stepTime.ts';
import type { StepCurve } from '../model/types.ts';
import { relative, sep } from 'node:path';
import { InputError } from '../errors.ts';

export interface CalibrateOptions {
  /** Profile folder (or the deployment folder holding profile-tp1/ and model-config.json). */
  path: string;
  /** Model config to use instead of the one found next to the profile. */
  config?: string;
  /** DP sizes to produce lockstep curves for (default 1, 2, 4, 8 where they divide the experts). */
  dp?: number[];
  /**
   * Tensor-parallel degree of every DP rank (default 1): reads the profile's tp<N>/ tables (the
   * per-GPU shard of each layer), adds the per-layer all-reduces, and pools the TP group's memory
   * for the KV capacity (docs/step-model.md §3.4).
   */
  tp?: number;
  /** GPU key (h100, rtxpro6000, ...); default from the profile's meta.yaml. */
  gpu?: string;
  /** vLLM max_num_seqs of the deployment: bounds decode batches and the CUDA-graph capture sizes. */
  maxNumSeqs?: number;
  /** Model the deployment with CUDA graphs (vLLM's default; DP ranks pad to a common size). */
  cudaGraphs?: boolean;
  /** Fit only on attention points whose contexts are at most this many tokens. */
  maxContext?: number;
  /** Correct weight-streaming layers for the one-layer profile's L2 residency. */
  l2Correction?: boolean;
  /** Skew factor alpha of uneven decode contexts (default: meta.yaml's skew_fit alpha_default, else 0). */
  skewAlpha?: number;
  /** Extra per-step time (µs) charged to every busy rank (CPU scheduling; default 0). */
  stepOverheadUs?: number;
  gpuMemoryUtilization?: number;
  /** Memory vLLM keeps outside weights and KV cache (activations, CUDA graphs, NCCL), bytes per GPU. */
  reserveBytes?: number;
  name?: string;
}

export interface ErrorStats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Mean signed relative error (prediction - truth) / truth. */
  bias: number;
}

export interface CalibrationResult {
  preset: PresetSpec;
  /** Held-out whole-step relative error per DP size. */
  heldOut: Map<number, ErrorStats>;
  /** Same on the training points (for comparison). */
  train: Map<number, ErrorStats>;
  /** Held-out error by kind of step (decode-only, mixed, prefill-only) per DP size. */
  heldOutByKind: Map<number, Record<StepKind, ErrorStats>>;
  trainRows: number;
  heldOutRows: number;
  /** Rows left out of the fit by the domain filters (max_num_seqs, maxContext). */
  excludedRows: number;
  profile: Profile;
  notes: string[];
}

export type StepKind = 'decode' | 'mixed' | 'prefill';

/** Every 5th attention point (1-based) is held out of the fit. */
export const HOLD_OUT_EVERY = 5;

/** Names of dense-table layers that run once per step rather than once per layer. */
const ONCE_PER_STEP = new Set(['embedding', 'embed_tokens', 'final_layernorm', 'final_norm', 'norm']);
/** Dense-table layers that run twice per decoder layer (input and post-attention RMSNorm). */
const TWICE_PER_LAYER = new Set(['layernorm']);

/**
 * vLLM's default CUDA-graph capture sizes: 1, 2, 4, multiples of 8 below 256, then multiples of
 * 16 up to max_cudagraph_capture_size = min(2 x max_num_seqs, 512) (vLLM CompilationConfig).
 * A batch of n <= the largest size runs the graph of the smallest size >= n (padded).
 */
export function captureSizes(maxNumSeqs: number): number[] {
  const top = Math.min(2 * maxNumSeqs, 512);
  const out = [1, 2, 4].filter((s) => s <= top);
  for (let s = 8; s < Math.min(256, top + 1); s += 8) out.push(s);
  for (let s = 256; s <= top; s += 16) out.push(s);
  return out;
}

/** Expected distinct experts among one rank's E/G local experts when n tokens pick top-k of E uniformly. */
export function expectedLocalExperts(E: number, k: number, G: number, n: number): number {
  return (E / G) * (1 - Math.pow(1 - k / E, n));
}

/** The per-step lockstep work (dense layers, MoE, collectives) of a rank at a padded token count. */
interface LockstepModel {
  /** µs for a step whose ranks run `tokens` (already padded) tokens each. */
  stepUs(tokens: number, G: number): number;
  /** Token counts where the tables have points (curve breakpoints above the capture range). */
  grid: number[];
}

function lockstepModel(p: Profile, arch: ModelArchitecture, comm: CollectiveModel, dramBytesPerUs: number | undefined, tp: number): LockstepModel {
  const fig = architectureFigures(arch);
  const L = arch.layers;
  const wb = arch.weightBytes;
  // Weight bytes of one GPU's shard of the dense projections (for the DRAM floor of the L2 correction).
  const projBytes: Record<string, number> = {
    qkv_proj: (arch.hidden * (arch.heads + 2 * arch.kvHeads) * arch.headDim * wb) / tp,
    o_proj: (arch.heads * arch.headDim * arch.hidden * wb) / tp,
  };
  const dense: { series: Series; mult: number; floorUs: number }[] = [];
  for (const [name, series] of p.dense) {
    const mult = ONCE_PER_STEP.has(name) ? 1 : TWICE_PER_LAYER.has(name) ? 2 * L : L;
    const floorUs = dramBytesPerUs && projBytes[name] ? projBytes[name] / dramBytesPerUs : 0;
    dense.push({ series, mult, floorUs });
  }
  const moe = p.moe ? moeLatency(p.moe) : undefined;
  const expertBytes = fig.expertParams * wb;
  const grid = new Set<number>();
  for (const d of dense) for (const x of d.series.x) grid.add(x);
  if (p.moe) for (const t of p.moe.tokens) grid.add(t);
  const hiddenBytes = arch.hidden * 2;
  const logitBytes = arch.experts * 2;
  return {
    grid: [...grid].filter((x) => x >= 1).sort((a, b) => a - b),
    stepUs(tokens: number, G: number): number {
      let us = 0;
      for (const d of dense) us += d.mult * Math.max(interpolate(d.series, tokens), d.floorUs);
      // Tensor parallelism: an all-reduce of the hidden states after the attention output
      // projection and after the MLP of every layer (Megatron-style sharding, as vLLM's).
      if (tp > 1) us += 2 * L * allReduceUs(comm, tokens * hiddenBytes, tp);
      if (moe && fig.moeLayers > 0) {
        // Under EP each rank runs its E/G experts on the tokens of all G ranks (all-gathered):
        // k * tokens expert assignments land on it on average, spread over the expected number
        // of distinct local experts.
        const a = expectedLocalExperts(arch.experts, arch.topK, G, G * tokens);
        const floor = dramBytesPerUs ? (a * expertBytes) / dramBytesPerUs : 0;
        us += fig.moeLayers * Math.max(moe(tokens, a), floor);
        if (G > 1) {
          us += fig.moeLayers * (comm.allGatherUs(tokens * (hiddenBytes + logitBytes), G) + comm.reduceScatterUs(tokens * hiddenBytes, G));
        }
      }
      return us;
    },
  };
}

/** Smallest capture size >= tokens, or tokens itself above the capture range. */
function padTokens(tokens: number, sizes: readonly number[]): number {
  for (const s of sizes) if (s >= tokens) return s;
  return tokens;
}

/** The lockstep curve of one DP size: flat over each capture bucket, linear between table points above. */
function lockstepCurve(ls: LockstepModel, G: number, sizes: readonly number[], maxTokens: number): StepCurve {
  const xs: number[] = [];
  const ys: number[] = [];
  let prev = 0;
  for (const s of sizes) {
    xs.push(prev + 1);
    ys.push(ls.stepUs(s, G) * 1e6);
    prev = s;
  }
  const top = prev;
  const above = [top + 1, ...ls.grid.filter((x) => x > top + 1)];
  if (above[above.length - 1] < maxTokens) above.push(maxTokens);
  const linX: number[] = [];
  const linY: number[] = [];
  for (const x of above) {
    linX.push(x);
    linY.push(ls.stepUs(x, G) * 1e6);
  }
  // Non-decreasing (profile noise can dip by a microsecond; the curve's slopes are unsigned).
  const allY = [...ys, ...linY];
  for (let i = 1; i < allY.length; i++) allY[i] = Math.max(allY[i], allY[i - 1]);
  const tokens = [...xs, ...linX];
  const ps = allY.map((y) => Math.round(y));
  const slopePs: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (i < xs.length) slopePs.push(0); // capture buckets: flat (padded to the bucket's size)
    else if (i + 1 < tokens.length) slopePs.push(Math.max(0, Math.round((allY[i + 1] - allY[i]) / (tokens[i + 1] - tokens[i]))));
    else slopePs.push(slopePs[i - 1] ?? 0);
  }
  return { tokens, ps, slopePs };
}

function stats(errs: number[]): ErrorStats {
  const abs = errs.map(Math.abs).sort((a, b) => a - b);
  const q = (p: number) => (abs.length ? abs[Math.min(abs.length - 1, Math.ceil((p / 100) * abs.length) - 1)] : NaN);
  return {
    n: errs.length,
    p50: q(50),
    p90: q(90),
    p99: q(99),
    max: abs.length ? abs[abs.length - 1] : NaN,
    bias: errs.length ? errs.reduce((s, e) => s + e, 0) / errs.length : NaN,
  };
}

/** Calibrate a step-time model to a profile folder. Throws InputError on bad input. */
export function calibrate(opts: CalibrateOptions): CalibrationResult {
  const tp = opts.tp ?? 1;
  if (!Number.isInteger(tp) || tp < 1 || tp > 64) throw new InputError('tp', tp, 'must be an integer in [1, 64]');
  const profile = readProfile(opts.path, opts.config, tp);
  const arch = architectureFromHfConfig(profile.modelConfig, 'config');
  if (tp > 1 && arch.experts > 0) {
    throw new InputError('tp', tp, 'tensor parallelism of an expert-parallel MoE model is not modelled (calibrate dense models with --tp, MoE models with --dp)');
  }
  const fig = architectureFigures(arch);
  const meta = profile.meta;
  const notes: string[] = [];
  const gpuKey = opts.gpu ?? meta.hardware ?? meta.gpu;
  const gpu: GpuSpec | undefined = gpuKey ? findGpu(gpuKey) : undefined;
  if (!gpu) {
    throw new InputError('gpu', gpuKey ?? '', `unknown GPU; give one of ${Object.keys(GPUS).join(', ')} with --gpu`);
  }
  // Default: the DP sizes up to 8 that divide the expert count (G > 2 extrapolates the collectives).
  const dps = opts.dp ?? [1, 2, 4, 8].filter((g) => arch.experts === 0 || arch.experts % g === 0);
  for (const g of dps) {
    if (!Number.isInteger(g) || g < 1 || g > 1024) throw new InputError('dp', g, 'DP sizes must be integers in [1, 1024]');
    if (arch.experts > 0 && arch.experts % g !== 0) throw new InputError('dp', g, `must divide the model's ${arch.experts} experts`);
  }
  const maxNumSeqs = opts.maxNumSeqs ?? meta.maxNumSeqs ?? 256;
  const cudaGraphs = opts.cudaGraphs ?? true;
  const maxBatched = meta.maxNumBatchedTokens ?? 2048;
  const sizes = cudaGraphs ? captureSizes(maxNumSeqs) : [];
  const L = arch.layers;
  const overheadUs = opts.stepOverheadUs ?? 0;
  const skewAlpha = opts.skewAlpha ?? meta.skewAlphaByTp?.[tp] ?? meta.skewAlpha ?? 0;
  if (!(skewAlpha >= 0 && skewAlpha <= 1)) throw new InputError('skew_alpha', skewAlpha, 'must be in [0, 1]');
  if (skewAlpha > 0) {
    notes.push(`decode skew: alpha ${skewAlpha} of the gap to a batch at the longest decode context (${opts.skewAlpha !== undefined ? '--skew-alpha' : "meta.yaml skew_fit alpha_default"})`);
  }

  // L2 correction: the one-layer profile keeps a layer's projection weights in L2 across its
  // measurement iterations; the full model streams them from DRAM every step. The DRAM rate is
  // measured from the LM head (far larger than any L2) at its smallest batch.
  let dramBytesPerUs: number | undefined;
  const lmHead = profile.perSequence.get('lm_head');
  if ((opts.l2Correction ?? true) && lmHead) {
    // Each GPU of a TP group holds a 1/tp shard of the LM head (vocabulary-parallel).
    const lmBytes = (arch.vocab * arch.hidden * arch.weightBytes) / tp;
    dramBytesPerUs = lmBytes / lmHead.us[0];
    notes.push(
      `L2 correction: dense projections and experts charged at least weight bytes / ${(dramBytesPerUs / 1e6).toFixed(3)} TB/s ` +
        `(LM head: ${(lmBytes / 1e6).toFixed(1)} MB in ${lmHead.us[0].toFixed(1)} µs at ${lmHead.x[0]} sequence(s))`,
    );
  }
  const comm = collectivesFor(gpu);
  const ls = lockstepModel(profile, arch, comm, dramBytesPerUs, tp);
  if (tp > 1) notes.push(`tensor parallel ${tp}: tp${tp} tables (one GPU's shard) + 2 all-reduces of the hidden states per layer (${comm.name}, ring: reduce-scatter + all-gather)`);
  const perSeq = [...profile.perSequence.values()];
  const perSeqUs = (seqs: number) => perSeq.reduce((s, series) => s + interpolate(series, seqs), 0);

  // ---- the per-rank fit ----
  const a = profile.attention;
  const X: number[][] = [];
  const y: number[] = [];
  const wts: number[] = [];
  const rowOf: number[] = [];
  const heldOutIdx: number[] = [];
  const trainIdx: number[] = [];
  let excluded = 0;
  // Weights use the profiled configuration itself (one GPU holding every expert), so the fit
  // does not depend on which DP sizes are asked for.
  const weightDp = 1;
  const features = (i: number): number[] => {
    const pc = a.prefillChunk[i];
    const kp = pc > 0 ? a.kvPrefill[i] : 0;
    const nd = a.nDecode[i];
    const kvd = nd * a.kvDecode[i];
    const pairs = pc * kp + (pc * (pc + 1)) / 2;
    // base, perDecodeSeq, perPrefillToken, perKvTokenRead, perAttnKiloPair, perPrefillKvToken,
    // perMixedDecodeKvToken, perMixedDecodeSeq
    return [1, nd, pc, kvd + kp, Math.floor(pairs / 1024), kp, pc > 0 ? kvd : 0, pc > 0 ? nd : 0];
  };
  const rankTruthUs = (i: number): number => {
    const seqs = a.nDecode[i] + (a.prefillChunk[i] > 0 ? 1 : 0);
    return L * a.us[i] + perSeqUs(seqs) + overheadUs;
  };
  const stepTokens = (i: number) => a.nDecode[i] + a.prefillChunk[i];
  const lockUs = (tokens: number, G: number) => ls.stepUs(padTokens(tokens, sizes), G);
  for (let i = 0; i < a.n; i++) {
    const inDomain =
      // A step holds at most max_num_seqs requests (decodes plus the prefilling one).
      a.nDecode[i] + (a.prefillChunk[i] > 0 ? 1 : 0) <= maxNumSeqs &&
      stepTokens(i) <= maxBatched + maxNumSeqs &&
      (opts.maxContext === undefined || (a.kvDecode[i] <= opts.maxContext && a.kvPrefill[i] + a.prefillChunk[i] <= opts.maxContext));
    if (!inDomain) {
      excluded++;
      continue;
    }
    if ((i + 1) % HOLD_OUT_EVERY === 0) {
      heldOutIdx.push(i);
      continue;
    }
    trainIdx.push(i);
    const t = rankTruthUs(i);
    X.push(features(i));
    // The per-step overhead is the model's hostPerStep (a group term), not a rank coefficient.
    y.push(t - overheadUs);
    // Relative error of the whole step is what matters: weight by 1 / whole-step time.
    wts.push(1 / (t + lockUs(stepTokens(i), weightDp)));
    rowOf.push(i);
  }
  if (trainIdx.length < 20) throw new InputError('profile', opts.path, `only ${trainIdx.length} attention points in the fitting domain; widen --max-context`);
  // The profile grid is almost all mixed batches (every chunk size x every decode batch), while
  // a serving run's steps are mostly decode-only: give each kind of step (decode-only, mixed,
  // prefill-only) the same total weight in the fit.
  const kindCount = { decode: 0, mixed: 0, prefill: 0 };
  const kindOfRow = (i: number): StepKind => (a.prefillChunk[i] === 0 ? 'decode' : a.nDecode[i] === 0 ? 'prefill' : 'mixed');
  for (const i of rowOf) kindCount[kindOfRow(i)]++;
  for (let r = 0; r < rowOf.length; r++) wts[r] *= Math.sqrt(rowOf.length / (3 * kindCount[kindOfRow(rowOf[r])]));
  const b = nonNegativeLeastSquares(X, y, wts);
  const toPs = (us: number) => Math.round(us * 1e6);
  const coefficients = {
    base: toPs(b[0]),
    baseExperts: 0,
    perDecodeSeq: toPs(b[1]),
    perPrefillToken: toPs(b[2]),
    perKvTokenRead: toPs(b[3]),
    perAttnKiloPair: toPs(b[4]),
    a2aBase: 0,
    a2aPerMaxRankToken: 0,
    a2aPerToken: 0,
    perPrefillKvToken: toPs(b[5]),
    perMixedDecodeKvToken: toPs(b[6]),
    perMixedDecodeSeq: toPs(b[7]),
    // Uneven decode contexts: alpha of the gap to a batch at the longest context, at the decode
    // KV rate (the profile's uniform grid cannot show it; its skew sweep gives alpha).
    perDecodeSkewToken: Math.round(skewAlpha * toPs(b[3])),
    // --step-overhead-us: host time per step, a group term (docs/model.md §5); absent = 0.
    ...(overheadUs > 0 ? { hostPerStep: toPs(overheadUs) } : {}),
  };

  // ---- lockstep curves, one per DP size ----
  const curveMax = Math.max(maxBatched, 2048) + maxNumSeqs;
  const byDp: Record<string, { maxRankTokenCurve: StepCurve }> = {};
  for (const g of dps) byDp[String(g)] = { maxRankTokenCurve: lockstepCurve(ls, g, sizes, curveMax) };

  // ---- KV memory (docs/step-model.md §6) ----
  const util = opts.gpuMemoryUtilization ?? meta.gpuMemoryUtilization ?? 0.9;
  // A DP rank is a TP group: its KV cache is spread over tp GPUs (each holds 1/tp of the KV
  // heads), so the group's memory and reserves pool and the weights count once.
  const memoryBytes = tp * (gpu.key === 'rtxpro6000' ? RTXPRO6000_TOTAL_BYTES : gpu.memoryBytes);
  const reserveBytes = tp * (opts.reserveBytes ?? defaultReserveBytes(arch, maxBatched, maxNumSeqs, Math.max(...dps)));

  const modelName = (meta.model ?? arch.modelType).split('/').pop()!.toLowerCase();
  const name = opts.name ?? `${modelName}-${gpu.key}-calibrated`;
  const preset: PresetSpec = {
    name,
    description:
      `${meta.model ?? arch.modelType} on ${meta.gpu ?? gpu.name}, fitted to a vLLM ${meta.vllmVersion ?? ''} layer-wise profile ` +
      `(${cudaGraphs ? 'CUDA graphs: DP ranks padded to common capture sizes' : 'eager'}; max_num_seqs ${maxNumSeqs}${tp > 1 ? `; tensor parallel ${tp}` : ''})`,
    coefficients,
    byDp,
    maxModelLen: arch.maxPositionEmbeddings,
    kvMemory: {
      memoryBytes,
      utilization: util,
      sharedWeightBytes: fig.sharedWeightBytes,
      expertWeightBytes: fig.expertWeightBytes,
      reserveBytes,
      kvBytesPerToken: fig.kvBytesPerToken,
      blockSize: meta.blockSize ?? 16,
    },
  };

  // ---- whole-step error on held-out (and training) points, through the engine's own functions ----
  const model = modelFromSpec(preset, 'calibrated');
  const heldOut = new Map<number, ErrorStats>();
  const train = new Map<number, ErrorStats>();
  const heldOutByKind = new Map<number, Record<StepKind, ErrorStats>>();
  const kindOf = (i: number): StepKind => (a.prefillChunk[i] === 0 ? 'decode' : a.nDecode[i] === 0 ? 'prefill' : 'mixed');
  for (const g of dps) {
    const m = stepModelForDp(model, g);
    const basePs = rankBasePs(m, g);
    const err = (idx: number[]) =>
      idx.map((i) => {
        const kp = a.prefillChunk[i] > 0 ? a.kvPrefill[i] : 0;
        const pc = a.prefillChunk[i];
        const nd = a.nDecode[i];
        const work = {
          decodeSeqs: nd,
          prefillTokens: pc,
          kvTokensRead: nd * a.kvDecode[i] + kp,
          prefillAttnPairs: pc * kp + (pc * (pc + 1)) / 2,
          prefillKvTokens: kp,
          decodeKvMax: a.kvDecode[i], // the grid's decodes share one context: no skew
        };
        const tokens = stepTokens(i);
        const pred = rankStepUs(m, basePs, work) + allToAllUs(m, tokens, g * tokens) + hostStepUs(m, nd + (pc > 0 ? 1 : 0), 0);
        const truth = rankTruthUs(i) + lockUs(tokens, g);
        return (pred - truth) / truth;
      });
    const e = err(heldOutIdx);
    heldOut.set(g, stats(e));
    train.set(g, stats(err(trainIdx)));
    const by = (k: StepKind) => stats(e.filter((_, j) => kindOf(heldOutIdx[j]) === k));
    heldOutByKind.set(g, { decode: by('decode'), mixed: by('mixed'), prefill: by('prefill') });
  }
  preset.derivation = {
    method: 'calibrated to a layer-wise vLLM profile (docs/step-model.md §3-§6)',
    profile: displayPath(profile.dir),
    model_config: displayPath(profile.configPath),
    vllm_version: meta.vllmVersion,
    gpu: meta.gpu ?? gpu.name,
    profiled_with_enforce_eager: meta.enforceEager,
    cuda_graphs: cudaGraphs,
    capture_sizes: sizes.length ? `${sizes.slice(0, 4).join(', ')}, ..., ${sizes[sizes.length - 1]}` : 'none',
    max_num_seqs: maxNumSeqs,
    tensor_parallel: tp,
    max_context: opts.maxContext ?? null,
    collectives: comm.source,
    dram_bytes_per_us: dramBytesPerUs ?? null,
    step_overhead_us: overheadUs,
    skew_alpha: skewAlpha,
    reserve_bytes: reserveBytes,
    fit: {
      features: 'base, perDecodeSeq, perPrefillToken, perKvTokenRead, perAttnKiloPair, perPrefillKvToken, perMixedDecodeKvToken, perMixedDecodeSeq',
      solver: 'non-negative weighted least squares (Householder QR, Lawson-Hanson), weights 1 / whole-step time',
      train_points: trainIdx.length,
      held_out_points: heldOutIdx.length,
      excluded_points: excluded,
      held_out_relative_error: Object.fromEntries([...heldOut].map(([g, s]) => [`dp${g}`, roundStats(s)])),
      held_out_relative_error_by_step_kind: Object.fromEntries(
        [...heldOutByKind].map(([g, k]) => [`dp${g}`, { decode: roundStats(k.decode), mixed: roundStats(k.mixed), prefill: roundStats(k.prefill) }]),
      ),
    },
  };
  return { preset, heldOut, train, heldOutByKind, trainRows: trainIdx.length, heldOutRows: heldOutIdx.length, excludedRows: excluded, profile, notes };
}

/** A path as written into a model file: relative to the working directory when that is shorter. */
function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && rel.length < p.length ? rel.split(sep).join('/') : p;
}

function roundStats(s: ErrorStats) {
  const r = (v: number) => Math.round(v * 1e5) / 1e5;
  return { n: s.n, p50: r(s.p50), p90: r(s.p90), p99: r(s.p99), max: r(s.max), bias: r(s.bias) };
}

/**
 * Total memory of an RTX PRO 6000 Blackwell Server Edition as CUDA reports it (what vLLM
 * multiplies by gpu_memory_utilization): 94.97 GiB (device query in casys-kaist/LLMServingSim
 * profiler/perf/RTXPRO6000/hardware.yaml, `memory_total_gib`).
 */
export const RTXPRO6000_TOTAL_BYTES = Math.round(94.97 * 2 ** 30);

/**
 * Memory vLLM keeps besides weights and KV cache, estimated for a deployment (docs/step-model.md
 * §6): the profiling forward pass's largest activations — the fused-MoE intermediate buffers for
 * the all-gathered batch, G x max_num_batched_tokens x top-k x (2 x expert width + expert width +
 * hidden) x 2 B, plus FP32 logits and probabilities for max_num_seqs sequences — plus an
 * allowance of 1 GiB for the CUDA-graph pool, NCCL and cuBLAS workspaces (not measured).
 */
export function defaultReserveBytes(arch: ModelArchitecture, maxBatched: number, maxNumSeqs: number, G: number): number {
  const moe = arch.experts > 0 ? G * maxBatched * arch.topK * (3 * arch.expertWidth + arch.hidden) * 2 : 0;
  const logits = maxNumSeqs * arch.vocab * 4 * 2;
  return Math.round(moe + logits + 2 ** 30);
}
