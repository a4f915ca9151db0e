// TypeScript routers and their WGSL ports agree decision by decision: the same random router views
// (loads, counts, KV usage, in-flight counts, projections, knobs, state words) go to every router
// of src/routers/ and, through a small test kernel that calls route() of shaders/routers.wgsl, to
// its port. Integer-scored routers must choose the same rank and leave the same state words every
// time; float-scored ones (f32 on the GPU, f64 on the host) must agree on at least
// MIN_FLOAT_AGREEMENT of the views (docs/gpu.md, "Numerics and tolerance").
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GpuDevice } from '../../src/engine/gpu/device.ts';
import { webgpuGlobals } from '../../src/engine/gpu/adapter.ts';
import { L, chunkBufferBytes, wordsPerConfig, type ChunkDims } from '../../src/engine/gpu/layout.ts';
import { BINDINGS } from '../../src/engine/gpu/pipelines.ts';
import { packRouter } from '../../src/engine/gpu/prepare.ts';
import { routerIdOf } from '../../src/engine/gpu/routing.ts';
import { KNOBS, ROUTING, joinSources } from '../../src/engine/gpu/shaderSource.ts';
import { Rng } from '../../src/rng.ts';
import { GL_MAX_K } from '../../src/routers/gaussian.ts';
import { ROUTERS, resolveRouterParams } from '../../src/routers/index.ts';
import { ROUTER_STATE_WORDS, type RouterView } from '../../src/routers/types.ts';
import { describeGpu, probe } from './gpuAvailable.ts';

/** Routers with a WGSL port (today every registered router; one without runs on the CPU engine, docs/gpu.md). */
const PORTED = Object.keys(ROUTERS).filter((r) => ROUTERS[r].wgsl !== undefined);

/**
 * Least share of float-scored decisions that must be identical, per router (docs/gpu.md). Measured
 * on SwiftShader: vllm_inflight, br0 (fractional b), brh and fast_phi 100%, fast_phi_gauss 398 of
 * 400 (its log-domain Gaussian tail in f32 meets near-ties); a wrong port disagrees on most views.
 */
const MIN_FLOAT_AGREEMENT = 0.98;
const VIEWS_PER_ROUTER = 400;

// The router port's private state, as simulate.wgsl declares it, and one entry point: invocation
// c loads view c (its parameter column and rank words), routes cfg word 0 (the prompt) and writes
// the rank and the router's state words to cfg words 1..5.
const HARNESS = `
var<private> G: u32;
var<private> J: u32;
var<private> totalBlocks: u32;
var<private> rs: array<u32, 4>;
var<private> routerId: u32;

@compute @workgroup_size(64)
fn routeViews(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= dims.C) {
    return;
  }
  setConfig(c);
  G = par(P_G);
  J = par(P_J);
  totalBlocks = par(P_TOTAL_BLOCKS);
  routerId = par(P_ROUTER);
  for (var k = 0u; k < 4u; k = k + 1u) {
    rs[k] = par(P_RS0 + k);
  }
  cfg[sIdx(1u)] = route(cfg[sIdx(0u)]);
  for (var k = 0u; k < 4u; k = k + 1u) {
    cfg[sIdx(2u + k)] = rs[k];
  }
}
`;
const SOURCE = joinSources(['layout.wgsl', KNOBS, ROUTING, 'u64.wgsl', 'rng.wgsl', 'gaussian.wgsl', 'routers.wgsl']) + HARNESS;

interface Case {
  router: string;
  params: Record<string, number | string>;
  view: RouterView;
  prompt: number;
  state: Uint32Array;
  totalBlocks: number;
  usedBlocks: Float64Array;
  horizon: number[];
}

const GS = [1, 2, 3, 8, 64];

/** Uniform integer in [0, n). */
function int(rng: Rng, n: number): number {
  return Math.floor(rng.next() * n);
}

/** Random knobs within each knob's range (integers for integer knobs; some integer a, b for br0). */
function randomKnobs(router: string, rng: Rng): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const k of ROUTERS[router].knobs) {
    if (k.kind === 'enum') out[k.name] = k.values![int(rng, k.values!.length)];
    else if (k.name === 'hold_ms') out[k.name] = 0; // holding is per_step admission, not a port decision
    else if (k.name === 'H') out[k.name] = [0, 1, 8, 32, 64].filter((h) => h >= (k.min ?? 0))[int(rng, 4)];
    else if (k.name === 'K') out[k.name] = 1 + int(rng, GL_MAX_K);
    else if (k.name === 'stride') out[k.name] = 1 + int(rng, 16);
    else if (k.name === 'waiting_weight') out[k.name] = int(rng, 9);
    else if (k.name === 'b' && k.values?.includes('G') && rng.next() < 0.25) out[k.name] = 'G'; // br0: b = G
    else if (k.name === 'a' || k.name === 'b') out[k.name] = rng.next() < 0.5 ? int(rng, k.name === 'a' ? 4 : 17) : Math.round(rng.next() * 1600) / 100;
    else if (k.kind === 'integer') out[k.name] = (k.min ?? 0) + int(rng, Math.min(100, (k.max ?? 100) - (k.min ?? 0)) + 1);
    else out[k.name] = (k.min ?? 0) + rng.next() * Math.min(10, (k.max ?? 10) - (k.min ?? 0));
  }
  return out;
}

function randomCase(router: string, rng: Rng): Case {
  const G = GS[int(rng, GS.length)];
  const params = resolveRouterParams(router, randomKnobs(router, rng)) as Record<string, number | string>;
  const def = ROUTERS[router];
  const blockSize = 16;
  const totalBlocks = 256 + int(rng, 8192);
  const capacity = totalBlocks * blockSize;
  const f = () => new Float64Array(G);
  const v = { waiting: f(), running: f(), kvTokens: f(), queuedTokens: f(), kvUsage: f(), inflight: f() };
  const usedBlocks = f();
  for (let g = 0; g < G; g++) {
    if (g > 0 && rng.next() < 0.25) {
      // An exact copy of another rank: ties must break the same way.
      const o = int(rng, g);
      for (const a of Object.values(v)) a[g] = a[o];
      usedBlocks[g] = usedBlocks[o];
      continue;
    }
    const idle = rng.next() < 0.15;
    v.running[g] = idle ? 0 : int(rng, 257);
    v.waiting[g] = idle ? 0 : int(rng, 24);
    usedBlocks[g] = idle ? 0 : int(rng, totalBlocks + 1);
    v.kvTokens[g] = Math.min(capacity, usedBlocks[g] * blockSize - int(rng, blockSize));
    if (v.kvTokens[g] < 0) v.kvTokens[g] = 0;
    v.queuedTokens[g] = v.waiting[g] * int(rng, 4096);
    v.kvUsage[g] = usedBlocks[g] / totalBlocks;
    v.inflight[g] = v.running[g] + v.waiting[g] + int(rng, 3);
  }
  const survival = new Float64Array(2048);
  const tail = 50 + rng.next() * 600;
  for (let a = 0; a < survival.length; a++) survival[a] = Math.exp(-a / tail);
  const horizon = def.horizon(params, survival);
  const J = horizon.length;
  const projMean = new Float64Array(J * G);
  const projVar = new Float64Array(J * G);
  for (let j = 0; j < J; j++) {
    for (let g = 0; g < G; g++) {
      // f32 values: both sides read exactly the same projections.
      const base = v.kvTokens[g] + v.queuedTokens[g];
      projMean[j * G + g] = Math.fround(base * Math.pow(0.97, horizon[j]) * (0.8 + 0.4 * rng.next()));
      projVar[j * G + g] = Math.fround(base * 40 * rng.next());
    }
  }
  // Binary-cutoff routers (brh) read projCut; on the GPU the cutoff lives in the projMean words.
  const cutoff = def.projection(params).kind === 'cutoff';
  const projCut = cutoff ? projMean.slice() : new Float64Array(0);
  const state = new Uint32Array(ROUTER_STATE_WORDS);
  def.init(state, 1 + int(rng, 1_000_000), G);
  state[1] = int(rng, G);
  state[2] = int(rng, G);
  const view: RouterView = {
    G, ...v, kvCapacity: capacity,
    horizonSteps: Float64Array.from(horizon), projMean, projVar, projCut, outputSurvival: survival,
  };
  return { router, params, view, prompt: 1 + int(rng, 8192), state, totalBlocks, usedBlocks, horizon };
}

describeGpu('TypeScript routers = WGSL ports, decision by decision', () => {
  const rng = new Rng(20261129);
  const cases = PORTED.flatMap((r) => Array.from({ length: VIEWS_PER_ROUTER }, () => randomCase(r, rng)));
  const hostRank: number[] = [];
  const hostState: Uint32Array[] = [];
  let gpuOut: Uint32Array;
  let dev: GpuDevice;

  beforeAll(async () => {
    for (const c of cases) {
      const s = c.state.slice();
      hostRank.push(ROUTERS[c.router].route(c.view, { prompt: c.prompt, waitedUs: 0, canHold: false }, c.params, s));
      hostState.push(s);
    }
    dev = await GpuDevice.open(probe);
    gpuOut = await runOnGpu(dev, cases);
  }, 300_000);

  afterAll(() => dev?.destroy());

  it('covers every router with a WGSL port, G from 1 to 64 and exact ties', () => {
    for (const r of PORTED) expect(routerIdOf(r, ROUTERS[r].knobs.length ? resolveRouterParams(r, {}) : {}), r).toBeDefined();
    expect(new Set(cases.map((c) => c.view.G))).toEqual(new Set(GS));
    expect(cases.length).toBe(PORTED.length * VIEWS_PER_ROUTER);
  });

  for (const router of PORTED) {
    it(`${router}: same ranks${ROUTERS[router].knobs.length ? ' for random knobs' : ''}`, () => {
      const C = cases.length;
      let integer = 0;
      let intAgree = 0;
      let float = 0;
      let floatAgree = 0;
      const firstMismatch: string[] = [];
      cases.forEach((c, i) => {
        if (c.router !== router) return;
        const gpuRank = gpuOut[1 * C + i];
        const same = gpuRank === hostRank[i];
        const isInt = ROUTERS[router].integerScored(c.params);
        if (isInt) {
          integer++;
          const stateSame = [0, 1, 2, 3].every((k) => gpuOut[(2 + k) * C + i] === hostState[i][k]);
          if (same && stateSame) intAgree++;
          else if (firstMismatch.length < 3) firstMismatch.push(`G ${c.view.G} knobs ${JSON.stringify(c.params)}: host ${hostRank[i]}, gpu ${gpuRank}${stateSame ? '' : ' (state words differ)'}`);
        } else {
          float++;
          if (same) floatAgree++;
          else if (firstMismatch.length < 3) firstMismatch.push(`G ${c.view.G} knobs ${JSON.stringify(c.params)}: host ${hostRank[i]}, gpu ${gpuRank}`);
        }
      });
      expect(intAgree, firstMismatch.join('; ')).toBe(integer);
      if (float > 0) {
        process.stdout.write(`router agreement ${router}: ${floatAgree}/${float} float-scored decisions identical\n`);
        expect(floatAgree / float, firstMismatch.join('; ')).toBeGreaterThanOrEqual(MIN_FLOAT_AGREEMENT);
      }
      expect(integer + float).toBe(VIEWS_PER_ROUTER);
    });
  }
});

/** Pack every case as one "configuration" of a chunk, route on the GPU, read back cfg words 0..5. */
async function runOnGpu(dev: GpuDevice, cases: Case[]): Promise<Uint32Array> {
  const C = cases.length;
  const dims: ChunkDims = {
    C,
    maxN: 1,
    maxG: Math.max(...cases.map((c) => c.view.G)),
    runCap: 0,
    maxJ: Math.max(1, ...cases.map((c) => c.horizon.length)),
  };
  const w = wordsPerConfig(dims);
  const bytes = chunkBufferBytes(dims);
  const params = new Uint32Array(w.params * C);
  const paramsF = new Float32Array(params.buffer);
  const ranks = new Uint32Array(bytes.ranks / 4);
  const ranksF = new Float32Array(ranks.buffer);
  const cfg = new Uint32Array(bytes.cfg / 4);
  const strideRank = dims.maxG * C;
  const projMeanBase = (L.K_WORDS + dims.runCap) * strideRank;
  const projVarBase = projMeanBase + dims.maxJ * strideRank;
  cases.forEach((c, ci) => {
    const put = (f: number, v: number) => (params[f * C + ci] = v >>> 0);
    const putF = (f: number, v: number) => (paramsF[f * C + ci] = v);
    const G = c.view.G;
    put(L.P_G, G);
    put(L.P_TOTAL_BLOCKS, c.totalBlocks);
    packRouter(put, putF, {
      router: c.router, params: c.params, routerId: routerIdOf(c.router, c.params)!, state: c.state, G,
      capacityTokens: c.view.kvCapacity, horizon: c.horizon, survival: c.view.outputSurvival, noiseAt: 0,
    });
    const k = (f: number, g: number) => f * strideRank + g * C + ci;
    for (let g = 0; g < G; g++) {
      ranks[k(L.K_VWAIT, g)] = c.view.waiting[g];
      ranks[k(L.K_VRUN, g)] = c.view.running[g];
      ranks[k(L.K_VKV, g)] = c.view.kvTokens[g];
      ranks[k(L.K_VQUEUED, g)] = c.view.queuedTokens[g];
      ranks[k(L.K_VUSED, g)] = c.usedBlocks[g];
      ranks[k(L.K_INFLIGHT, g)] = c.view.inflight[g];
      for (let j = 0; j < c.horizon.length; j++) {
        ranksF[projMeanBase + j * strideRank + g * C + ci] = c.view.projMean[j * G + g];
        ranksF[projVarBase + j * strideRank + g * C + ci] = c.view.projVar[j * G + g];
      }
    }
    cfg[ci] = c.prompt;
  });

  const device = dev.device;
  const { GPUBufferUsage: U, GPUMapMode } = webgpuGlobals();
  const kernel = 'router agreement harness';
  const chunk = `${C} views`;
  let module!: GPUShaderModule;
  const compileErr = await dev.scoped(kernel, chunk, () => {
    module = device.createShaderModule({ label: kernel, code: SOURCE });
  });
  const info = await module.getCompilationInfo();
  const msgs = info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
  if (compileErr || msgs.length) throw new Error(`harness compilation failed: ${compileErr ?? msgs.join('; ')}`);
  const layout = device.createBindGroupLayout({ entries: BINDINGS.map((type, binding) => ({ binding, visibility: 4, buffer: { type } })) });
  let pipeline!: Promise<GPUComputePipeline>;
  const pipeErr = await dev.scoped(kernel, chunk, () => {
    pipeline = device.createComputePipelineAsync({
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'routeViews' },
    });
  });
  if (pipeErr) throw new Error(pipeErr);
  const pipe = await dev.guard(pipeline, kernel, chunk);

  const buffers: GPUBuffer[] = [];
  try {
    const dimsWords = new Uint32Array([C, dims.maxN, dims.maxG, dims.runCap, dims.maxJ, 0, C, 0]);
    let readBuf!: GPUBuffer;
    const err = await dev.scoped(kernel, chunk, () => {
      const mk = (data: Uint32Array<ArrayBuffer> | number, usage: number) => {
        const size = typeof data === 'number' ? data : data.byteLength;
        const b = device.createBuffer({ size: Math.max(16, Math.ceil(size / 4) * 4), usage: usage | U.COPY_DST });
        buffers.push(b);
        if (typeof data !== 'number') device.queue.writeBuffer(b, 0, data);
        return b;
      };
      const S = U.STORAGE | U.COPY_SRC;
      const cfgBuf = mk(cfg, S);
      const entries = [mk(dimsWords, U.UNIFORM), mk(params, U.STORAGE), mk(16, U.STORAGE), cfgBuf, mk(16, S), mk(ranks, S), mk(16, S)];
      readBuf = mk(6 * C * 4, U.MAP_READ);
      const bind = device.createBindGroup({ layout, entries: entries.map((buffer, binding) => ({ binding, resource: { buffer } })) });
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(Math.ceil(C / 64));
      pass.end();
      enc.copyBufferToBuffer(cfgBuf, 0, readBuf, 0, 6 * C * 4);
      device.queue.submit([enc.finish()]);
    });
    if (err) throw new Error(err);
    return await dev.readBack(readBuf, GPUMapMode.READ, kernel, chunk);
  } finally {
    for (const b of buffers) b.destroy();
  }
}
