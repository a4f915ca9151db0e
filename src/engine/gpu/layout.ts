/**
 * Buffer layout of the WebGPU engine, read from shaders/layout.wgsl so that field numbers are
 * defined once. Sizes are in 32-bit words unless a name says bytes.
 */
import { KNOBS, ROUTING, parseU32Constants, readShader } from './shaderSource.ts';

const NAMES = [
  'CTL_ACTIVE', 'CTL_RAN', 'CTL_ERRORS', 'CTL_WORDS',
  'P_N', 'P_STREAM', 'P_SURV', 'P_SURV_LEN', 'P_G', 'P_B', 'P_M', 'P_BS', 'P_TOTAL_BLOCKS', 'P_FIT_LIMIT',
  'P_TIMEOUT_LO', 'P_TIMEOUT_HI', 'P_STATS_LO', 'P_STATS_HI', 'P_LPT', 'P_BASE_PS_LO', 'P_BASE_PS_HI',
  'P_C_DECODE', 'P_C_PREFILL', 'P_C_KV_READ', 'P_C_ATTN_KILO', 'P_A2A_BASE_LO', 'P_A2A_BASE_HI',
  'P_A2A_MAX_TOK', 'P_A2A_TOK', 'P_RS0', 'P_K0', 'P_J', 'P_ROUTER', 'P_PER_STEP',
  'P_C_PREFILL_KV', 'P_C_MIXED_KV', 'P_C_MIXED_SEQ', 'P_C_SKEW', 'P_CURVE', 'P_CURVE_LEN', 'P_C_MEAN_KV', 'P_PRED', 'P_NOISE', 'P_HZ', 'P_HZ_WORDS',
  'P_HOST_LO', 'P_HOST_REQ', 'P_ASYNC', 'P_ADP', 'P_ADP_TIMEOUT', 'P_ADP_BATCH',
  'S_NOW_LO', 'S_COMPLETED', 'S_FAILED_REJECTED', 'S_FAILED_TIMEOUT', 'S_PREEMPTIONS', 'S_STEPS', 'S_IN_SYSTEM',
  'S_BUSY_LO', 'S_LOAD_WEIGHT_LO', 'S_SUM_RANK_LO', 'S_SUM_MAX_LO', 'S_AREA_LO', 'S_IMB_LO', 'S_BAL_LO', 'S_TOKBAL_LO', 'TOKBAL_BITS',
  'S_DONE', 'S_ERROR', 'S_ITERATIONS', 'S_WORDS', 'FIX_BITS',
  'R_STATUS', 'R_ADMIT_LO', 'R_FIRST_LO', 'R_END_LO', 'R_QUEUED_LO', 'R_SCHED_AT_LO', 'R_RANK', 'R_READBACK', 'R_WORDS',
  'K_WORDS', 'K_VWAIT', 'K_VRUN', 'K_VKV', 'K_VQUEUED', 'K_VUSED', 'K_INFLIGHT',
  'ST_DONE', 'ST_FAILED',
  'ERR_NONE', 'ERR_STALLED', 'ERR_BAD_RANK', 'ERR_STEP_OVERFLOW',
  'RT_FROM_PARAMS',
  'DISPATCH_ON_ARRIVAL', 'DISPATCH_PER_STEP', 'DISPATCH_FROM_PARAMS',
  'NONE',
] as const;

export type LayoutName = (typeof NAMES)[number];

function loadLayout(): Readonly<Record<LayoutName, number>> {
  // The generated knob slots first: P_HZ follows the knob block (P_K0 + KNOB_WORDS).
  const consts = parseU32Constants(readShader(KNOBS) + readShader(ROUTING) + readShader('layout.wgsl'));
  const out = {} as Record<LayoutName, number>;
  for (const n of NAMES) {
    const v = consts.get(n);
    if (v === undefined) throw new Error(`shaders/layout.wgsl: constant ${n} is missing (the host needs it)`);
    out[n] = v;
  }
  return Object.freeze(out);
}

/** Layout constants of shaders/layout.wgsl. */
export const L = loadLayout();

/** Words of the `Dims` uniform (padded to 16 bytes). */
export const DIMS_WORDS = 8;

/** Shape of one chunk: the strides every index function of layout.wgsl uses. */
export interface ChunkDims {
  /** Configurations in the chunk. */
  C: number;
  maxN: number;
  maxG: number;
  runCap: number;
  maxJ: number;
}

/** Words each buffer of a chunk needs for one configuration at the chunk's strides. */
export function wordsPerConfig(d: Omit<ChunkDims, 'C'>): { params: number; cfg: number; reqs: number; ranks: number } {
  return {
    params: L.P_HZ + L.P_HZ_WORDS * d.maxJ,
    cfg: L.S_WORDS,
    reqs: L.R_WORDS * Math.max(1, d.maxN),
    ranks: (L.K_WORDS + d.runCap + 2 * d.maxJ) * d.maxG + d.maxJ,
  };
}

/** Buffer sizes in bytes for a chunk (at least 4 bytes each: WebGPU rejects empty bindings). */
export function chunkBufferBytes(d: ChunkDims): { params: number; cfg: number; reqs: number; ranks: number } {
  const w = wordsPerConfig(d);
  return {
    params: Math.max(16, w.params * d.C * 4),
    cfg: Math.max(16, w.cfg * d.C * 4),
    reqs: Math.max(16, w.reqs * d.C * 4),
    ranks: Math.max(16, w.ranks * d.C * 4),
  };
}
