/**
 * The fidelity suite's runs: every public real-hardware vLLM run we can replay, with its role in
 * the calibrate/predict protocol (docs/fidelity.md). The roles are fixed here, in code, before any
 * simulation: host terms are fitted on a host's `calibration` runs only and applied unchanged to
 * its `prediction` runs; nothing is fitted on a prediction run.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIDELITY_DIR = dirname(fileURLToPath(import.meta.url));
export const DATA_DIR = join(FIDELITY_DIR, 'data');
export const MODELS_DIR = join(FIDELITY_DIR, 'models');

/** Source of every copied file: casys-kaist/LLMServingSim at this commit (MIT licence). */
export const SOURCE_REPO = 'https://github.com/casys-kaist/LLMServingSim';
export const SOURCE_COMMIT = '5daddb21a545658d5150b535712d0494584b5278';

/**
 * - calibration: host terms are fitted on it (its error is an in-sample fit, not a prediction);
 * - prediction: nothing is fitted on it; the host's calibrated terms are applied unchanged;
 * - self-calibrated: the only run of its host, so its host terms are fitted on the run itself —
 *   reported, but not a prediction.
 */
export type Role = 'calibration' | 'prediction' | 'self-calibrated';

export interface FidelityRun {
  /** Folder under data/ and the run's name in the table. */
  id: string;
  /** The host whose terms the run shares (one machine type, one vLLM build). */
  host: string;
  role: Role;
  /** Path under LLMServingSim's bench/examples/. */
  source: string;
  /** Hugging Face model id (configs/model/<id>.json in LLMServingSim). */
  hfModel: string;
  /** GPU key for calibration (src/calibrate/gpus.ts). */
  gpu: string;
  tp: number;
  dp: number;
  moe: boolean;
  profile: {
    /** Path under LLMServingSim's profiler/perf/ (holds meta.yaml and tp<N>/). */
    source: string;
    /** Folder under data/profiles/. */
    dir: string;
  };
}

export const FIDELITY_RUNS: readonly FidelityRun[] = [
  {
    id: 'rtxpro6000-llama-3.1-8b',
    host: 'RTXPRO6000',
    role: 'calibration',
    source: 'RTXPRO6000/Llama-3.1-8B',
    hfModel: 'meta-llama/Llama-3.1-8B',
    gpu: 'rtxpro6000',
    tp: 1,
    dp: 1,
    moe: false,
    profile: { source: 'RTXPRO6000/meta-llama/Llama-3.1-8B/bf16', dir: 'RTXPRO6000/Llama-3.1-8B' },
  },
  {
    id: 'rtxpro6000-qwen3-32b-tp2',
    host: 'RTXPRO6000',
    role: 'calibration',
    source: 'RTXPRO6000/Qwen3-32B',
    hfModel: 'Qwen/Qwen3-32B',
    gpu: 'rtxpro6000',
    tp: 2,
    dp: 1,
    moe: false,
    profile: { source: 'RTXPRO6000/Qwen/Qwen3-32B/bf16', dir: 'RTXPRO6000/Qwen3-32B' },
  },
  {
    // The validation target: nothing is fitted on it.
    id: 'rtxpro6000-qwen3-30b-a3b-dp2-ep',
    host: 'RTXPRO6000',
    role: 'prediction',
    source: 'RTXPRO6000/Qwen3-30B-A3B-Instruct-2507',
    hfModel: 'Qwen/Qwen3-30B-A3B-Instruct-2507',
    gpu: 'rtxpro6000',
    tp: 1,
    dp: 2,
    moe: true,
    profile: { source: 'RTXPRO6000/Qwen/Qwen3-30B-A3B-Instruct-2507/bf16', dir: 'RTXPRO6000/Qwen3-30B-A3B-Instruct-2507' },
  },
  {
    id: 'rtx4090-llama-3.1-8b',
    host: 'RTX4090',
    role: 'self-calibrated',
    source: 'RTX4090/Llama-3.1-8B',
    hfModel: 'meta-llama/Llama-3.1-8B',
    gpu: 'rtx4090',
    tp: 1,
    dp: 1,
    moe: false,
    profile: { source: 'RTX4090/meta-llama/Llama-3.1-8B/bf16', dir: 'RTX4090/Llama-3.1-8B' },
  },
];

/**
 * Runs the issue names that this suite cannot replay, and why. Listed in the table and in
 * docs/fidelity.md, not dropped.
 */
export const NOT_REPLAYED: readonly { what: string; why: string }[] = [
  {
    what: 'RTX PRO 6000, DeepSeek-V3.2-Exp-16L64E (bench/examples)',
    why: 'not in the public snapshot (commit 5daddb2): no bench/examples run and no layer profile for it',
  },
  {
    what: 'A6000 and H100, evaluation/artifacts/figure_5 (throughput over time: multi-instance dense, single dense + prefix caching, prefill/decode disaggregation, single MoE)',
    why: 'not in the public snapshot (commit 5daddb2); prefix caching and prefill/decode disaggregation could not be modelled anyway',
  },
  {
    what: 'evaluation/artifacts/figure_8 (mean TTFT, TPOT, throughput) and the request sets dataset/sharegpt_req300_rate10_{llama,mixtral,phi}.jsonl',
    why: 'not in the public snapshot (commit 5daddb2)',
  },
];
