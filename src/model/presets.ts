
import { readInputText } from '../formats/inputFile.ts';
import { InputError, InputProblem } from '../errors.ts';
import { analyticPreset } from './analytic/analytic.ts';
import { architectureFromHfConfig } from './analytic/architecture.ts';
import { GPUS } from './analytic/gpus.ts';
import { HF_CONFIGS } from './analytic/hfConfigs.ts';
import type { KvMemorySpec, PresetSpec } from './analytic/presetSpec.ts';
import { MAX_COEFFICIENT_PS, parseModelFile } from './modelFile.ts';
import { STEP_COEFFICIENTS, type DpStepTerms, type StepCoefficient, type StepModel } from './types.ts';

export type { KvMemorySpec, PresetSpec } from './analytic/presetSpec.ts';

export function kvCapacityFromMemory(m: KvMemorySpec, dp: number): number {
  const free = m.memoryBytes * m.utilization - m.sharedWeightBytes - m.expertWeightBytes / dp - m.reserveBytes;
  const tokens = Math.floor(free / m.kvBytesPerToken);
  return Math.max(0, tokens - (tokens % m.blockSize));
}

// Qwen3-30B-A3B (48 layers, hidden 2048, 32 q / 4 kv heads of dim 128, 128 experts top-8,
// expert width 768, vocab 151,936; Qwen3 technical report / HF config) on one H100 SXM per rank
// (80 GB HBM3 at 3.35 TB/s, 989 TFLOP/s dense BF16, NVLink 4 at 450 GB/s per direction;
// NVIDIA H100 datasheet). Derivation in docs/model.md §9 and docs/step-model.md §2.
const QWEN3_30B_A3B_H100: PresetSpec = {
  name: 'qwen3-30b-a3b-h100',
  description: 'Qwen3-30B-A3B, BF16, one H100 SXM 80GB per DP rank, EP across ranks (roofline-derived)',
  coefficients: {
    base: 1_300_000_000, // 1.30 ms shared-weight stream at 70% of HBM BW
    baseExperts: 24_700_000_000, // 58 GB expert weights / 2.35 TB/s, divided by G under EP
    perDecodeSeq: 6_000_000, // 6.0 µs: half the compute roofline of 6 GFLOP/token (weights stream in base)
    perPrefillToken: 12_100_000, // 12.1 µs: 6 GFLOP/token at 50% of 989 TFLOP/s
    perKvTokenRead: 41_800, // 41.8 ns: 98,304 B of KV per token at 2.35 TB/s
    perAttnKiloPair: 1_630_000, // 1.63 µs per 1024 (query,key) pairs: 786,432 FLOP/pair at 495 TFLOP/s
    a2aBase: 1_440_000_000, // 96 all-to-alls per step (dispatch+combine x 48 layers) x 15 µs latency
    a2aPerMaxRankToken: 10_000_000, // 3.1 MB per token (2 x 8 x 2048 x 2 B x 48 layers) at 315 GB/s
    a2aPerToken: 0,
    hostPerStep: 500_000_000, // 0.5 ms per step: scheduling, sampling, launch gaps (assumed; docs/step-model.md §2)
  },
  maxModelLen: 40_960,
  kvMemory: {
    memoryBytes: 80e9,
    utilization: 0.9,
    sharedWeightBytes: 3.06e9,
    expertWeightBytes: 58.0e9,
    reserveBytes: 4e9,
    kvBytesPerToken: 98_304,
    blockSize: 16,
  },
};

// The step model of the DP-BalanceRouter write-up (J. Li, "The EP Barrier Tax: How Request
// Routing Costs You 7-15% Throughput in MoE Serving", 2026): t_step = max_g(a * L_g) + b * mean_g(L_g),
// L_g the KV tokens resident on rank g, b = 0.5 a. `a` is the time to stream one token of KV from
// HBM: Qwen3-30B-A3B's 98,304 B per token (48 layers x 4 KV heads x 128 x 2 (K, V) x 2 B) at the
// NVIDIA H200's 4.8 TB/s (H200 datasheet) = 20.48 ns. The write-up's model has no prefill cost and
// no KV capacity: here prefill and every fixed term cost 0 and the capacity is 2^24 tokens per
// rank (docs/step-model.md §5 says how close that is).
export const SEED_KV_PER_TOKEN_PS = 20_480;
const SEED_KV_LINEAR: PresetSpec = {
  name: 'seed-kv-linear',
  description: "DP-BalanceRouter write-up's step model: max_g(a*L_g) + b*mean_g(L_g), a = Qwen3-30B-A3B KV token at H200 4.8 TB/s, b = 0.5a; no prefill cost, no KV limit",
  coefficients: {
    base: 0,
    baseExperts: 0,
    perDecodeSeq: 0,
    perPrefillToken: 0,
    perKvTokenRead: SEED_KV_PER_TOKEN_PS,
    perAttnKiloPair: 0,
    a2aBase: 0,
    a2aPerMaxRankToken: 0,
    a2aPerToken: 0,
    perMeanKvToken: SEED_KV_PER_TOKEN_PS / 2, // b = 0.5 a; a model file `{"extends": "seed-kv-linear", "meanKvRatio": 0.3}` sets another
  },
  maxModelLen: 40_960,
  kvCapacityTokens: 2 ** 24,
  asyncScheduling: false, // the write-up's model has no host loop
};

/**
 * Analytic presets for every shipped model on every GPU (docs/step-model.md §2), generated from
 * the Hugging Face configs and GPU datasheets. `qwen3-30b-a3b-h100` stays the hand-rounded
 * original above (the default everywhere; the generator reproduces it within 3%).
 */
function analyticPresets(): PresetSpec[] {
  const out: PresetSpec[] = [];
  for (const m of Object.values(HF_CONFIGS)) {
    const arch = architectureFromHfConfig(m.config, m.key);
    for (const gpu of Object.values(GPUS)) {
      const name = `${m.key}-${gpu.key}`;
      if (name === QWEN3_30B_A3B_H100.name) continue;
      out.push(analyticPreset(name, arch, gpu, undefined, m.name, m.source));
    }
  }
  return out;
}

const PRESETS: Record<string, PresetSpec> = Object.fromEntries(
  [QWEN3_30B_A3B_H100, ...analyticPresets(), SEED_KV_LINEAR].map((p) => [p.name, p]),
);

export function listPresets(): readonly PresetSpec[] {
  return Object.values(PRESETS);
}

export { MAX_BASE_PS, MAX_COEFFICIENT_PS } from './modelFile.ts';

/** Largest accepted meanKvRatio (b/a); the write-up sweeps 0 to 1. */
export const MAX_MEAN_KV_RATIO = 1000;

function meanKvCoefficient(ratio: number, perKvTokenRead: number, field: string): number {
  const v = Math.round(ratio * perKvTokenRead);
  if (v > MAX_COEFFICIENT_PS) throw new InputError(field, ratio, `gives perMeanKvToken ${v} ps, above ${MAX_COEFFICIENT_PS}`);
  return v;
}

/** A step model from a preset or model file's content, checked against the model file schema. */
export function modelFromSpec(raw: PresetSpec, field = 'model'): StepModel {
  const spec = parseModelFile(raw, field);
  const coef = {} as Record<StepCoefficient, number>;
  for (const k of STEP_COEFFICIENTS) coef[k] = spec.coefficients[k];
  // meanKvRatio = b/a of the mean-KV group term: perMeanKvToken = round(ratio * perKvTokenRead).
  const ratio = spec.meanKvRatio;
  if (ratio !== undefined) {
    if ((raw.coefficients as Record<string, unknown> | undefined)?.perMeanKvToken !== undefined) {
      throw new InputError(`${field}.meanKvRatio`, ratio, 'give either meanKvRatio or coefficients.perMeanKvToken, not both');
    }
    coef.perMeanKvToken = meanKvCoefficient(ratio, coef.perKvTokenRead, `${field}.meanKvRatio`);
  }
  let byDp: Map<number, DpStepTerms> | undefined;
  if (spec.byDp !== undefined) {
    byDp = new Map();
    for (const [key, terms] of Object.entries(spec.byDp)) {
      const c: Partial<Record<StepCoefficient, number>> = {};
      for (const [k, v] of Object.entries(terms.coefficients ?? {})) if (v !== undefined) c[k as StepCoefficient] = v;
      if (ratio !== undefined && c.perKvTokenRead !== undefined && c.perMeanKvToken === undefined) {
        c.perMeanKvToken = meanKvCoefficient(ratio, c.perKvTokenRead, `${field}.byDp.${key}.coefficients.perKvTokenRead`);
      }
      byDp.set(Number(key), { coefficients: c, maxRankTokenCurve: terms.maxRankTokenCurve });
    }
  }
  const mem = spec.kvMemory;
  const fixed = spec.kvCapacityTokens;
  return {
    name: spec.name,
    ...coef,
    maxRankTokenCurve: spec.maxRankTokenCurve,
    byDp,
    maxModelLen: spec.maxModelLen,
    asyncScheduling: spec.asyncScheduling ?? true,
    frontend: spec.frontend && (spec.frontend.ingressUs || spec.frontend.egressUs || spec.frontend.perTokenUs) ? spec.frontend : undefined,
    kvCapacityTokens: mem ? (dp: number) => kvCapacityFromMemory(mem, dp) : () => fixed as number,
    kvBytesPerToken: mem?.kvBytesPerToken,
  };
}

const fileCache = new Map<string, StepModel>();

/** A model file with `extends: PRESET`: the preset's fields, overridden by the file's. */
function extendPreset(spec: PresetSpec, field: string): PresetSpec {
  if (spec.extends === undefined) return spec;
  const base = typeof spec.extends === 'string' ? PRESETS[spec.extends] : undefined;
  if (!base) throw new InputError(`${field}.extends`, spec.extends, `unknown preset; known: ${Object.keys(PRESETS).join(', ')}`);
  const coefficients = { ...base.coefficients };
  if (spec.meanKvRatio !== undefined) delete coefficients.perMeanKvToken;
  const merged: PresetSpec = { ...base, ...spec, description: spec.description ?? base.description, coefficients: { ...coefficients, ...spec.coefficients } };
  if (spec.kvCapacityTokens !== undefined && spec.kvMemory === undefined) delete merged.kvMemory;
  delete merged.extends;
  return merged;
}

/** Resolve a preset name or a path to a preset JSON file. */
export function resolveStepModel(nameOrPath: string, field = 'model'): StepModel {
  const preset = PRESETS[nameOrPath];
  if (preset) return modelFromSpec(preset, field);
  const cached = fileCache.get(nameOrPath);
  if (cached) return cached;
  if (!/\.json$/i.test(nameOrPath)) {
    throw new InputError(field, nameOrPath, `unknown preset; known: ${Object.keys(PRESETS).join(', ')} (or a .json file)`);
  }
  let text: string;
  try {
    text = readInputText(nameOrPath, field, 'text', 'model file');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(field, nameOrPath, `cannot read model file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let spec: PresetSpec;
  try {
    spec = JSON.parse(text) as PresetSpec;
  } catch (e) {
    throw new InputProblem(field, `${nameOrPath} is not valid JSON: ${(e as Error).message}`);
  }
  const model = modelFromSpec(extendPreset({ ...spec, name: spec.name ?? nameOrPath }, field), field);
  fileCache.set(nameOrPath, model);
  return model;
}
