/**
 * Turning scenarios into what the kernels read: one parameter column per configuration, shared
 * request streams, and the split of a sweep into chunks that fit the device's buffer limits.
 */
import type { Scenario } from '../../config/scenario.ts';
import { InputError } from '../../errors.ts';
import { resolveStepModel } from '../../model/presets.ts';
import { resolveAsyncScheduling } from '../core/engineCore.ts';
import { PD_ON_CPU } from '../pd/simulatePd.ts';
import { dpSyncPs, rankBasePs, stepModelForDp, worstCaseStepPs } from '../../model/stepTime.ts';
import { STEP_COEFFICIENTS, type StepCoefficient, type StepCurve, type StepModel } from '../../model/types.ts';
import { newRequestSurvival, num } from '../../routers/common.ts';
import { fastPhiWeights } from '../../routers/fastPhi.ts';
import { GL_WEIGHTS } from '../../routers/gaussian.ts';
import { getRouter } from '../../routers/index.ts';
import { medianRemainingTable, predictorNoiseFixed } from '../../routers/projections.ts';
import { ROUTER_STATE_WORDS, type ProjectionSpec, type RouterParams } from '../../routers/types.ts';
import { getWorkload, workloadKey } from '../../workload/build.ts';
import type { Workload } from '../../workload/types.ts';
import { packKnobs } from './knobs.ts';
import { predictorId, routerIdOf } from './routing.ts';
import { L, chunkBufferBytes, wordsPerConfig, type ChunkDims } from './layout.ts';
import type { ChunkPlan, CpuFallback, DeviceBudget, GpuConfig, PackedChunk, Specialization } from './types.ts';

export type { ChunkPlan, CpuFallback, DeviceBudget, GpuConfig, PackedChunk, Specialization } from './types.ts';

const TWO32 = 2 ** 32;

/**
 * The step-time coefficients packChunk uploads and the kernels evaluate. A coefficient added to
 * the model (STEP_COEFFICIENTS) but not ported sends configurations that use it to the CPU engine
 * with a note, rather than letting the GPU drop the term (test/gpu/packing.test.ts keeps the two
 * lists equal).
 */
export const GPU_STEP_COEFFICIENTS: ReadonlySet<StepCoefficient> = new Set<StepCoefficient>([
  'base', 'baseExperts', 'perDecodeSeq', 'perPrefillToken', 'perKvTokenRead', 'perAttnKiloPair',
  'a2aBase', 'a2aPerMaxRankToken', 'a2aPerToken', 'perPrefillKvToken', 'perMixedDecodeKvToken',
  'perMixedDecodeSeq', 'perDecodeSkewToken', 'perMeanKvToken',
  'hostPerStep', 'hostPerRequest', 'dpSyncIntraNode', 'dpSyncInterNode',
]);

/**
 * Resolve a scenario for the GPU, or say why it runs on the CPU engine instead. Throws the same
 * InputErrors as the CPU engine for configurations neither engine can simulate.
 */
export function prepareConfig(sc: Scenario, pos: number): GpuConfig | CpuFallback {
  if (sc.timeseries) return { pos, sc, reason: 'per-step time series are recorded by the CPU engine' };
  if (sc.sync === 'independent') {
    return { pos, sc, reason: 'ranks without a barrier (sync: independent) run on the CPU engine' };
  }
  if (sc.goodput) return { pos, sc, reason: 'goodput needs per-request latencies, recorded by the CPU engine' };
  if (sc.dispatch === 'wave') return { pos, sc, reason: 'wave dispatch runs on the CPU engine (no WGSL port yet)' };
  if ((sc.topology ?? 'colocated') === 'pd') {
    return { pos, sc, reason: `${PD_ON_CPU} (no WGSL port yet)` };
  }
  if (sc.dispatch === 'per_step' && Number(sc.routerParams.hold_ms ?? 0) > 0) {
    return { pos, sc, reason: 'routers that hold requests (br0 hold_ms > 0) run on the CPU engine' };
  }
  // As the CPU engine: the model's terms for this DP size (calibrated models), its errors.
  const model = stepModelForDp(resolveStepModel(sc.model), sc.dp);
  const unported = STEP_COEFFICIENTS.find((k) => !GPU_STEP_COEFFICIENTS.has(k) && (model[k] ?? 0) !== 0);
  if (unported) return { pos, sc, reason: `the step-time term ${unported} has no WGSL port yet` };
  const wl = getWorkload(sc.workload);
  const def = getRouter(sc.router);
  // The CPU engine's checks (src/engine/core/engineCore.ts), with its messages: the kernels would
  // otherwise deal sorted_round_robin on arrival, or apply an admission policy they do not know.
  if (def.requiresDispatch !== undefined && sc.dispatch !== def.requiresDispatch) {
    throw new InputError('dispatch', sc.dispatch, `router ${sc.router} deals the global queue at step boundaries: it needs dispatch: ${def.requiresDispatch}`);
  }
  // A context admission policy the kernels do not implement goes to the CPU engine (today every
  // one is ported: none and adp_balance).
  const admission: string = sc.admission ?? 'none';
  if (admission !== 'none' && admission !== 'adp_balance') return { pos, sc, reason: `context admission ${admission} has no WGSL port` };
  const routerId = routerIdOf(sc.router, sc.routerParams);
  if (routerId === undefined) return { pos, sc, reason: def.noWgslReason ?? `router ${sc.router} has no WGSL port` };
  const worst = worstCaseStepPs(model, sc.maxNumSeqs, sc.maxBatchedTokens, sc.maxModelLen, sc.dp);
  if (worst >= 2 ** 53) {
    // The CPU engine's check, with its message.
    throw new InputError('model', model.name, 'step-time coefficients too large for exact integer arithmetic at these limits');
  }
  if (worst / 1e6 >= TWO32) return { pos, sc, reason: 'a step could exceed 2^32 µs (the GPU keeps step times in 32 bits)' };
  let tokens = 0;
  for (let i = 0; i < wl.n; i++) tokens += wl.prompt[i] + wl.output[i];
  if (tokens >= 2 ** 31) return { pos, sc, reason: 'the stream holds 2^31 tokens or more (the GPU keeps loads in 32 bits)' };
  if (wl.n >= 2 ** 31) return { pos, sc, reason: 'too many requests for 32-bit request indices' };
  const proj = def.projection(sc.routerParams);
  const noisy = proj.kind === 'cutoff' && proj.predictor === 'noisy';
  const wlKey = workloadKey(sc.workload);
  return {
    pos,
    sc,
    wl,
    wlKey,
    model,
    curveKey: model.maxRankTokenCurve ? `${sc.model}\u0000${sc.dp}` : '',
    routerId,
    perStep: sc.dispatch === 'per_step',
    horizon: def.horizon(sc.routerParams, wl.outputSurvival),
    runSlots: Math.max(1, Math.min(sc.maxNumSeqs, wl.n)),
    noiseKey: noisy ? `${wlKey}\u0000noise\u0000${proj.sigma}` : '',
    noiseSigma: noisy ? proj.sigma : 0,
    asyncScheduling: resolveAsyncScheduling(sc, model),
  };
}

/** Router, dispatch mode and G: what a specialised pipeline fixes. */
export function specialKey(c: GpuConfig): string {
  return `${String(c.routerId).padStart(2, '0')}/${c.perStep ? 1 : 0}/${String(c.sc.dp).padStart(5, '0')}`;
}

/** The pipeline a configuration runs on. */
export function pipelineKey(c: GpuConfig, spec: Specialization): string {
  if (!spec.router) return 'generic';
  const [router, dispatch, G] = specialKey(c).split('/');
  return `${router}/${dispatch}/${spec.G ? G : '*'}`;
}

/** Override constants of a configuration's pipeline. */
export function pipelineConstants(c: GpuConfig, spec: Specialization): Record<string, number> {
  if (!spec.router) return {};
  const k: Record<string, number> = { ROUTER: c.routerId, DISPATCH: c.perStep ? L.DISPATCH_PER_STEP : L.DISPATCH_ON_ARRIVAL };
  if (spec.G) k.G_FIXED = c.sc.dp;
  return k;
}

/** Request words, the output survival (f32) and the median-remaining table (u32). */
function streamWordsOf(wl: Workload): number {
  return 4 * wl.n + 2 * wl.outputSurvival.length;
}

function curveWordsOf(c: StepCurve | undefined): number {
  return c ? 4 * c.tokens.length : 0;
}

/** Words a configuration adds to a chunk's shared stream buffer, given what it already holds. */
function sharedWordsOf(c: GpuConfig, held: Set<string>): number {
  let w = held.has(c.wlKey) ? 0 : streamWordsOf(c.wl);
  if (c.curveKey && !held.has(c.curveKey)) w += curveWordsOf(c.model.maxRankTokenCurve);
  if (c.noiseKey && !held.has(c.noiseKey)) w += c.wl.n;
  return w;
}

function hold(c: GpuConfig, held: Set<string>): void {
  held.add(c.wlKey);
  if (c.curveKey) held.add(c.curveKey);
  if (c.noiseKey) held.add(c.noiseKey);
}

function dimsFits(d: ChunkDims, streamWords: number, b: DeviceBudget): boolean {
  const bytes = chunkBufferBytes(d);
  const limit = Math.min(b.maxBindingBytes, b.maxBufferBytes);
  const sizes = [bytes.params, bytes.cfg, bytes.reqs, bytes.ranks, streamWords * 4];
  if (sizes.some((s) => s > limit)) return false;
  // Index arithmetic of layout.wgsl is in u32 words.
  if (sizes.some((s) => s / 4 >= TWO32)) return false;
  return sizes.reduce((a, s) => a + s, 0) <= b.maxChunkBytes;
}

/**
 * Split configurations into chunks whose buffers fit the device. Configurations are sorted by
 * (G, requests, pipeline) so that a chunk's strides waste little memory; a configuration too large
 * for any chunk on its own is returned in `tooLarge`.
 */
export function planChunks(configs: GpuConfig[], budget: DeviceBudget): { chunks: ChunkPlan[]; tooLarge: GpuConfig[] } {
  const sorted = [...configs].sort(
    (a, b) => a.sc.dp - b.sc.dp || a.wl.n - b.wl.n || a.horizon.length - b.horizon.length ||
      specialKey(a).localeCompare(specialKey(b)) || a.pos - b.pos,
  );
  const chunks: ChunkPlan[] = [];
  const tooLarge: GpuConfig[] = [];
  let cur: GpuConfig[] = [];
  let dims: ChunkDims = { C: 0, maxN: 0, maxG: 0, runCap: 0, maxJ: 0 };
  let streams = new Set<string>();
  let streamWords = 0;
  const flush = () => {
    if (cur.length) chunks.push({ configs: orderByRouter(cur), dims, streamWords });
    cur = [];
    dims = { C: 0, maxN: 0, maxG: 0, runCap: 0, maxJ: 0 };
    streams = new Set();
    streamWords = 0;
  };
  for (const c of sorted) {
    const next: ChunkDims = {
      C: dims.C + 1,
      maxN: Math.max(dims.maxN, c.wl.n),
      maxG: Math.max(dims.maxG, c.sc.dp),
      runCap: Math.max(dims.runCap, c.runSlots),
      maxJ: Math.max(dims.maxJ, c.horizon.length),
    };
    const nextStreamWords = streamWords + sharedWordsOf(c, streams);
    if (next.C <= budget.maxConfigs && dimsFits(next, nextStreamWords, budget)) {
      cur.push(c);
      dims = next;
      hold(c, streams);
      streamWords = nextStreamWords;
      continue;
    }
    flush();
    const alone: ChunkDims = { C: 1, maxN: c.wl.n, maxG: c.sc.dp, runCap: c.runSlots, maxJ: c.horizon.length };
    const aloneWords = sharedWordsOf(c, new Set());
    if (!dimsFits(alone, aloneWords, budget)) {
      tooLarge.push(c);
      continue;
    }
    cur.push(c);
    dims = alone;
    hold(c, streams);
    streamWords = aloneWords;
  }
  flush();
  return { chunks, tooLarge };
}

/**
 * Order a chunk by (router, dispatch, G): each specialised pipeline's configurations form one
 * contiguous range, and with the generic pipeline neighbouring invocations (a warp) still share a
 * router, so their control flow stays mostly uniform.
 */
function orderByRouter(configs: GpuConfig[]): GpuConfig[] {
  return [...configs].sort((a, b) => specialKey(a).localeCompare(specialKey(b)) || a.pos - b.pos);
}

// Long on purpose: one linear pass that writes every parameter word of every configuration, in
// the order of shaders/layout.wgsl, so the two can be read side by side.
/** Pack the parameter columns ([P_*][config]) and the shared request streams of a chunk. */
export function packChunk(plan: ChunkPlan): PackedChunk {
  const { dims } = plan;
  const C = dims.C;
  const w = wordsPerConfig(dims);
  const params = new Uint32Array(Math.max(4, w.params * C));
  const paramsF = new Float32Array(params.buffer);
  const streams = new Uint32Array(Math.max(4, plan.streamWords));
  const streamsF = new Float32Array(streams.buffer);
  const placed = new Map<string, { stream: number; surv: number }>();
  const curves = new Map<string, number>();
  const noises = new Map<string, number>();
  let at = 0;
  const rstate = new Uint32Array(ROUTER_STATE_WORDS);
  plan.configs.forEach((c, ci) => {
    const put = (field: number, v: number) => {
      params[field * C + ci] = v >>> 0;
    };
    const putF = (field: number, v: number) => {
      paramsF[field * C + ci] = v;
    };
    const put64 = (fieldLo: number, v: number) => {
      put(fieldLo, v % TWO32);
      put(fieldLo + 1, Math.floor(v / TWO32));
    };
    let where = placed.get(c.wlKey);
    if (!where) {
      const wl = c.wl;
      where = { stream: at, surv: at + 4 * wl.n };
      for (let r = 0; r < wl.n; r++) {
        const a = wl.arrivalUs[r];
        streams[at + 4 * r] = a % TWO32;
        streams[at + 4 * r + 1] = Math.floor(a / TWO32);
        streams[at + 4 * r + 2] = wl.prompt[r];
        streams[at + 4 * r + 3] = wl.output[r];
      }
      streamsF.set(wl.outputSurvival, where.surv);
      streams.set(medianRemainingTable(wl.outputSurvival), where.surv + wl.outputSurvival.length);
      at += streamWordsOf(wl);
      placed.set(c.wlKey, where);
    }
    let curveAt = 0;
    const curve = c.model.maxRankTokenCurve;
    if (c.curveKey && curve) {
      let off = curves.get(c.curveKey);
      if (off === undefined) {
        off = at;
        for (let i = 0; i < curve.tokens.length; i++) {
          streams[at + 4 * i] = curve.tokens[i];
          streams[at + 4 * i + 1] = curve.ps[i] % TWO32;
          streams[at + 4 * i + 2] = Math.floor(curve.ps[i] / TWO32);
          streams[at + 4 * i + 3] = curve.slopePs[i];
        }
        at += curveWordsOf(curve);
        curves.set(c.curveKey, off);
      }
      curveAt = off;
    }
    // The noisy predictor's fixed-point factors, one per request, drawn on the host so that both
    // engines compare the same integers (routers/projections.ts).
    let noiseAt = 0;
    if (c.noiseKey) {
      let off = noises.get(c.noiseKey);
      if (off === undefined) {
        off = at;
        for (let r = 0; r < c.wl.n; r++) streams[at + r] = predictorNoiseFixed(c.sc.workload.seed, r, c.noiseSigma);
        at += c.wl.n;
        noises.set(c.noiseKey, off);
      }
      noiseAt = off;
    }
    const sc = c.sc;
    const G = sc.dp;
    const totalBlocks = Math.floor(sc.kvCapacity / sc.blockSize);
    const capacityTokens = totalBlocks * sc.blockSize;
    const m = c.model;
    put(L.P_N, c.wl.n);
    put(L.P_STREAM, where.stream);
    put(L.P_SURV, where.surv);
    put(L.P_SURV_LEN, c.wl.outputSurvival.length);
    put(L.P_G, G);
    put(L.P_B, sc.maxNumSeqs);
    put(L.P_M, sc.maxBatchedTokens);
    put(L.P_BS, sc.blockSize);
    put(L.P_TOTAL_BLOCKS, totalBlocks);
    put(L.P_FIT_LIMIT, Math.min(capacityTokens, sc.maxModelLen));
    put64(L.P_TIMEOUT_LO, Math.round(sc.timeoutS * 1e6));
    put64(L.P_STATS_LO, Math.round(sc.statsIntervalMs * 1000));
    // sorted_round_robin's queueOrder is the same stable largest-prompt-first sort.
    put(L.P_LPT, sc.assignOrder === 'lpt' || getRouter(sc.router).queueOrder === 'largest_first' ? 1 : 0);
    // ADP Balance (docs/model.md §3.2): on/off and its two waits in group steps.
    put(L.P_ADP, (sc.admission ?? 'none') === 'adp_balance' ? 1 : 0);
    put(L.P_ADP_TIMEOUT, sc.adpTimeoutIters ?? 50);
    put(L.P_ADP_BATCH, sc.adpBatchingWaitIters ?? 10);
    put64(L.P_BASE_PS_LO, rankBasePs(m, G));
    put(L.P_C_DECODE, m.perDecodeSeq);
    put(L.P_C_PREFILL, m.perPrefillToken);
    put(L.P_C_KV_READ, m.perKvTokenRead);
    put(L.P_C_ATTN_KILO, m.perAttnKiloPair);
    put64(L.P_A2A_BASE_LO, m.a2aBase);
    put(L.P_A2A_MAX_TOK, m.a2aPerMaxRankToken);
    put(L.P_A2A_TOK, m.a2aPerToken);
    put(L.P_C_PREFILL_KV, m.perPrefillKvToken ?? 0);
    put(L.P_C_MIXED_KV, m.perMixedDecodeKvToken ?? 0);
    put(L.P_C_MIXED_SEQ, m.perMixedDecodeSeq ?? 0);
    put(L.P_C_SKEW, m.perDecodeSkewToken ?? 0);
    put(L.P_C_MEAN_KV, m.perMeanKvToken ?? 0);
    // Host terms (docs/model.md §5): the per-step constant and this G's DP sync in one 64-bit
    // word, the per-request rate in another; and whether async scheduling is on.
    put64(L.P_HOST_LO, (m.hostPerStep ?? 0) + dpSyncPs(m, G, sc.ranksPerNode ?? 8));
    put(L.P_HOST_REQ, m.hostPerRequest ?? 0);
    put(L.P_ASYNC, c.asyncScheduling ? 1 : 0);
    put(L.P_CURVE, curveAt);
    put(L.P_CURVE_LEN, curve && c.curveKey ? curve.tokens.length : 0);
    getRouter(sc.router).init(rstate, sc.workload.seed, G);
    packRouter(put, putF, {
      router: sc.router, params: sc.routerParams, routerId: c.routerId, state: rstate, G,
      capacityTokens, horizon: c.horizon, survival: c.wl.outputSurvival, noiseAt,
    });
    put(L.P_PER_STEP, c.perStep ? 1 : 0);
  });
  return { params, streams };
}

/** What the WGSL router of one configuration reads besides the rank view. */
export interface RouterWords {
  router: string;
  params: RouterParams;
  /** RT_* id (routerIdOf). */
  routerId: number;
  /** State words after the router's init(). */
  state: Uint32Array;
  /** Number of ranks. */
  G: number;
  capacityTokens: number;
  /** Horizon offsets (the router's horizon(params, survival)). */
  horizon: readonly number[];
  /** The workload's output-length survival table. */
  survival: Float64Array;
  /** Offset in `streams` of the noisy predictor's per-request factors (0 when it has none). */
  noiseAt: number;
}

/**
 * Pack a configuration's router: state words, knob slots, id, the projection it asks for (P_PRED,
 * P_NOISE) and the horizon table (P_J, P_HZ...).
 */
export function packRouter(put: (f: number, v: number) => void, putF: (f: number, v: number) => void, r: RouterWords): void {
  for (let k = 0; k < ROUTER_STATE_WORDS; k++) put(L.P_RS0 + k, r.state[k]);
  packKnobs(r.router, r.params, { capacityTokens: r.capacityTokens, G: r.G }, put, putF, L.P_K0);
  put(L.P_ROUTER, r.routerId);
  const proj: ProjectionSpec = getRouter(r.router).projection(r.params);
  put(L.P_PRED, predictorId(proj.kind === 'cutoff' ? proj.predictor : 'none'));
  put(L.P_NOISE, r.noiseAt);
  const J = r.horizon.length;
  put(L.P_J, J);
  const weights = horizonWeights(r.router, r.params, r.horizon, r.survival);
  for (let j = 0; j < J; j++) {
    const h = r.horizon[j];
    put(L.P_HZ + L.P_HZ_WORDS * j, h);
    putF(L.P_HZ + L.P_HZ_WORDS * j + 1, weights[j]);
    putF(L.P_HZ + L.P_HZ_WORDS * j + 2, newRequestSurvival(r.survival, h));
  }
}

/** Per-point weights of the horizon routers, in f64 on the host (f32 on the device). */
function horizonWeights(router: string, p: RouterParams, horizon: readonly number[], surv: Float64Array): number[] {
  if (router === 'brh') {
    const gamma = num(p, 'gamma');
    return horizon.map((h) => Math.pow(gamma, h));
  }
  if (router === 'fast_phi') {
    // w_k · S(h_k), as fast_phi's router computes them (routers/fastPhi.ts).
    const w = new Float64Array(horizon.length);
    fastPhiWeights(Float64Array.from(horizon), surv, p.K === 'full', w);
    return horizon.map((h, j) => w[j] * newRequestSurvival(surv, h));
  }
  if (router === 'fast_phi_gauss') {
    const H = num(p, 'H');
    const K = num(p, 'K');
    const delta = num(p, 'discount');
    const wts = GL_WEIGHTS[K - 1];
    return horizon.map((t, j) => (H / 2) * wts[j] * Math.pow(delta, t));
  }
  return horizon.map(() => 0);
}
