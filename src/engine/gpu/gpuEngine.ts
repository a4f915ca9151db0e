/**
 * The WebGPU engine: simulates a sweep with the WGSL kernels of shaders/ through Dawn for Node.
 *
 * A sweep is split into chunks that fit the device's buffer limits (prepare.ts). For each chunk the
 * host packs parameters and the shared request streams, runs `initConfigs`, then dispatches
 * `simulateSteps` (each invocation = one configuration, up to `itersPerDispatch` loop iterations
 * per dispatch, state resident in the buffers) until every configuration reports done, reading back
 * only a few control words in between. At the end it reads back each configuration's totals and
 * per-request times and turns them into the result row with the CPU engine's own code
 * (LatencyHistograms + summarize), so percentiles are defined identically. Two chunks are in
 * flight at a time: while one computes, the other is packed or read back.
 *
 * Every Dawn error (shader compilation, validation, out-of-memory, internal, device loss) fails
 * the run with a GpuError naming the kernel and the chunk; the device is destroyed on every path.
 */
import type { Scenario } from '../../config/scenario.ts';
import { LatencyHistograms, newCounters, summarize } from '../../metrics/summary.ts';
import { CpuEngine } from '../cpu/cpuEngine.ts';
import type { Engine, EngineInfo, EngineProgress, RunResult } from '../types.ts';
import { probeAdapter, webgpuGlobals, type AdapterProbe } from './adapter.ts';
import { GpuError, GpuUnavailableError } from './gpuError.ts';
import { DIMS_WORDS, L, chunkBufferBytes } from './layout.ts';
import {
  packChunk, pipelineConstants, pipelineKey, planChunks, prepareConfig, routerIdName,
  type ChunkPlan, type CpuFallback, type DeviceBudget, type GpuConfig, type Specialization,
} from './prepare.ts';
import { ENTRY_INIT, ENTRY_STEP, SIMULATION_MODULE, simulationSource } from './shaderSource.ts';

export interface GpuEngineOptions {
  /** Worker threads of the CPU engine for configurations the GPU hands over (time series). */
  threads?: number;
  /** Most configurations per chunk (default: 2048 on a software adapter, else what memory allows). */
  maxConfigsPerChunk?: number;
  /** Soft cap on the bytes of one chunk's buffers (default 1 GiB, at most 4 x the binding limit). */
  maxChunkBytes?: number;
  /** Main-loop iterations per invocation per dispatch (default 256). */
  itersPerDispatch?: number;
  /**
   * One pipeline per router and dispatch mode, fixed by override constants, instead of one generic
   * pipeline that reads them from the parameters. Default: on hardware adapters (dead routers are
   * compiled out: fewer registers, more warps in flight), off on software ones (SwiftShader takes
   * seconds per pipeline).
   */
  specialize?: boolean;
  /** Also one pipeline per G (default off: more pipelines to compile for loop unrolling only). */
  specializeG?: boolean;
  /** Invocations per workgroup (default 64; 16 on a software adapter). */
  workgroupSize?: number;
  /** Chunks in flight at once (default 2: double buffering). */
  inFlight?: number;
  /** Notes for the user (which configurations went to the CPU engine and why). */
  log?: (line: string) => void;
  /** Use this adapter probe instead of probing. */
  probe?: AdapterProbe;
  /** Log per-chunk timings through `log`. */
  trace?: boolean;
  /** Test hook: rewrite a module's WGSL before it is compiled (e.g. to break it on purpose). */
  shaderOverride?: (module: string, source: string) => string;
}

interface Pipelines {
  init: GPUComputePipeline;
  step: GPUComputePipeline;
  label: string;
}

interface GroupRange {
  key: string;
  base: number;
  count: number;
  first: GpuConfig;
}


export class GpuEngine implements Engine {
  readonly info: EngineInfo;
  private readonly probe: AdapterProbe;
  private readonly opts: GpuEngineOptions;
  private device: GPUDevice | null = null;
  private module: GPUShaderModule | null = null;
  private modulePromise: Promise<GPUShaderModule> | null = null;
  private initPipeline: Promise<GPUComputePipeline> | null = null;
  private layout: GPUBindGroupLayout | null = null;
  private pipelineLayout: GPUPipelineLayout | null = null;
  private readonly pipelines = new Map<string, Promise<Pipelines>>();
  private lost: GPUDeviceLostInfo | null = null;
  private lostPromise: Promise<GPUDeviceLostInfo> | null = null;
  private uncaptured: GPUError | null = null;
  private readonly hist = new LatencyHistograms();
  private readonly workgroup: number;

  private constructor(probe: AdapterProbe, opts: GpuEngineOptions) {
    this.probe = probe;
    this.opts = opts;
    this.info = { engine: 'gpu', adapter: probe.name, fallbackAdapter: probe.isFallback, threads: 1 };
    this.workgroup = opts.workgroupSize ?? (probe.isFallback ? 16 : 64);
  }

  /** An engine on the best adapter, or GpuUnavailableError saying why there is none. */
  static async create(opts: GpuEngineOptions = {}): Promise<GpuEngine> {
    const probe = opts.probe ?? (await probeAdapter());
    if (!probe.adapter || !probe.gpu) throw new GpuUnavailableError(probe.reason || 'no WebGPU adapter found');
    return new GpuEngine(probe, opts);
  }

  async run(scenarios: readonly Scenario[], onProgress?: (p: EngineProgress) => void): Promise<RunResult[]> {
    const total = scenarios.length;
    const results: (RunResult | undefined)[] = new Array(total);
    const gpuConfigs: GpuConfig[] = [];
    const fallback: CpuFallback[] = [];
    scenarios.forEach((sc, pos) => {
      const p = prepareConfig(sc, pos);
      if ('reason' in p) fallback.push(p);
      else gpuConfigs.push(p);
    });
    let cpuDone = 0;
    const gpuDone = new Map<number, number>();
    const report = () => {
      let d = cpuDone;
      for (const v of gpuDone.values()) d += v;
      onProgress?.({ done: d, total });
    };
    try {
      if (gpuConfigs.length > 0) {
        const device = await this.ensureDevice();
        const budget = this.budget(device);
        const specialize: Specialization = { router: this.opts.specialize ?? !this.probe.isFallback, G: this.opts.specializeG ?? false };
        const { chunks, tooLarge } = planChunks(gpuConfigs, budget);
        for (const c of tooLarge) fallback.push({ pos: c.pos, sc: c.sc, reason: 'too large for one GPU buffer' });
        await this.runChunks(chunks, specialize, results, (ci, done) => {
          gpuDone.set(ci, done);
          report();
        });
      }
      if (fallback.length > 0) {
        this.noteFallback(fallback);
        const cpu = new CpuEngine({ threads: this.opts.threads });
        try {
          const out = await cpu.run(fallback.map((f) => f.sc), (p) => {
            cpuDone = p.done;
            report();
          });
          out.forEach((r, i) => (results[fallback[i].pos] = r));
        } finally {
          await cpu.close();
        }
      }
    } catch (e) {
      // A failed run leaves nothing behind: the device goes (Dawn would keep a core busy).
      this.destroyDevice();
      throw e;
    }
    return results.map((r, i) => {
      if (!r) throw new Error(`WebGPU engine: no result for configuration ${scenarios[i].index}`);
      return r;
    });
  }

  async close(): Promise<void> {
    this.destroyDevice();
  }

  private noteFallback(fallback: CpuFallback[]): void {
    const byReason = new Map<string, number>();
    for (const f of fallback) byReason.set(f.reason, (byReason.get(f.reason) ?? 0) + 1);
    for (const [reason, n] of byReason) {
      this.opts.log?.(`engine: ${n} configuration${n === 1 ? '' : 's'} on the cpu engine (${reason})`);
    }
  }

  private destroyDevice(): void {
    const d = this.device;
    this.device = null;
    this.module = null;
    this.modulePromise = null;
    this.initPipeline = null;
    this.layout = null;
    this.pipelineLayout = null;
    this.pipelines.clear();
    if (d) d.destroy();
  }

  private budget(device: GPUDevice): DeviceBudget {
    const lim = device.limits;
    const maxBinding = lim.maxStorageBufferBindingSize;
    const maxBuffer = lim.maxBufferSize;
    const maxConfigs = Math.min(
      this.opts.maxConfigsPerChunk ?? (this.probe.isFallback ? 2048 : 1 << 20),
      lim.maxComputeWorkgroupsPerDimension * this.workgroup,
    );
    return {
      maxBindingBytes: maxBinding,
      maxBufferBytes: maxBuffer,
      maxChunkBytes: this.opts.maxChunkBytes ?? Math.min(2 ** 30, 4 * maxBinding),
      maxConfigs: Math.max(1, maxConfigs),
    };
  }

  // ---- device, module, pipelines ----

  private async ensureDevice(): Promise<GPUDevice> {
    if (this.device) return this.device;
    const gpu = this.probe.gpu!;
    // An adapter hands out one device: take a fresh one for every device.
    const adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? null;
    if (!adapter) throw new GpuUnavailableError(`the WebGPU adapter (${this.probe.name}) is no longer available`);
    const lim = adapter.limits;
    let device: GPUDevice;
    try {
      // The adapter's own limits: larger chunks than the WebGPU defaults (128/256 MiB).
      device = await adapter.requestDevice({
        label: 'balanceroute',
        requiredLimits: {
          maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
          maxBufferSize: lim.maxBufferSize,
        },
      });
    } catch (e) {
      throw new GpuError('(device creation)', 'before the first chunk', `${this.probe.name}: ${(e as Error).message}`);
    }
    this.device = device;
    this.lost = null;
    this.uncaptured = null;
    this.lostPromise = device.lost.then((info) => {
      this.lost = info;
      return info;
    });
    device.addEventListener('uncapturederror', (ev) => {
      this.uncaptured ??= (ev as GPUUncapturedErrorEvent).error;
    });
    return device;
  }

  private ensureModule(device: GPUDevice, chunk: string): Promise<GPUShaderModule> {
    this.modulePromise ??= this.buildModule(device, chunk);
    this.modulePromise.catch(() => (this.modulePromise = null));
    return this.modulePromise;
  }

  private async buildModule(device: GPUDevice, chunk: string): Promise<GPUShaderModule> {
    let code = simulationSource();
    if (this.opts.shaderOverride) code = this.opts.shaderOverride(SIMULATION_MODULE, code);
    const errors = await this.scoped(device, SIMULATION_MODULE, chunk, () => {
      this.module = device.createShaderModule({ label: SIMULATION_MODULE, code });
    });
    const info = await this.module!.getCompilationInfo();
    const msgs = info.messages.filter((m) => m.type === 'error');
    if (msgs.length > 0 || errors) {
      this.module = null;
      const text = msgs.length ? msgs.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ') : errors!;
      throw new GpuError(SIMULATION_MODULE, chunk, `shader compilation failed: ${text}`);
    }
    this.layout = device.createBindGroupLayout({
      label: 'simulate',
      entries: [
        { binding: 0, visibility: 4, buffer: { type: 'uniform' } },
        { binding: 1, visibility: 4, buffer: { type: 'read-only-storage' } },
        { binding: 2, visibility: 4, buffer: { type: 'read-only-storage' } },
        { binding: 3, visibility: 4, buffer: { type: 'storage' } },
        { binding: 4, visibility: 4, buffer: { type: 'storage' } },
        { binding: 5, visibility: 4, buffer: { type: 'storage' } },
        { binding: 6, visibility: 4, buffer: { type: 'storage' } },
      ],
    });
    this.pipelineLayout = device.createPipelineLayout({ label: 'simulate', bindGroupLayouts: [this.layout] });
    return this.module!;
  }

  private pipelinesFor(device: GPUDevice, g: GroupRange, specialize: Specialization, chunk: string): Promise<Pipelines> {
    let p = this.pipelines.get(g.key);
    if (!p) {
      p = this.buildPipelines(device, g.first, specialize, chunk);
      this.pipelines.set(g.key, p);
      p.catch(() => this.pipelines.delete(g.key));
    }
    return p;
  }

  private async buildPipelines(device: GPUDevice, c: GpuConfig, specialize: Specialization, chunk: string): Promise<Pipelines> {
    const module = await this.ensureModule(device, chunk);
    const label = specialize.router
      ? `router ${routerIdName(c.routerId)}, ${c.perStep ? 'per_step' : 'on_arrival'}, G ${specialize.G ? c.sc.dp : 'from the parameters'}`
      : 'generic: router, dispatch and G from the parameters';
    const make = async (entryPoint: string, constants: Record<string, number>): Promise<GPUComputePipeline> => {
      const kernel = `${SIMULATION_MODULE}:${entryPoint} (${label})`;
      let pipeline: Promise<GPUComputePipeline> | undefined;
      const errors = await this.scoped(device, kernel, chunk, () => {
        pipeline = device.createComputePipelineAsync({
          label: kernel,
          layout: this.pipelineLayout!,
          compute: { module, entryPoint, constants },
        });
      });
      if (errors) throw new GpuError(kernel, chunk, `pipeline creation failed: ${errors}`);
      try {
        return await this.guard(pipeline!, kernel, chunk);
      } catch (e) {
        if (e instanceof GpuError) throw e;
        throw new GpuError(kernel, chunk, `pipeline creation failed: ${(e as Error).message}`);
      }
    };
    // initConfigs does not depend on the router: one generic pipeline serves every group.
    const wg = { WORKGROUP_SIZE: this.workgroup };
    this.initPipeline ??= make(ENTRY_INIT, wg);
    this.initPipeline.catch(() => (this.initPipeline = null));
    const [init, step] = await Promise.all([this.initPipeline, make(ENTRY_STEP, { ...wg, ...pipelineConstants(c, specialize) })]);
    return { init, step, label };
  }

  // ---- error handling ----

  /**
   * Run `fn` (synchronous: nothing else may interleave with the scopes) inside validation,
   * out-of-memory and internal error scopes; resolve to the errors' text, or null.
   */
  private async scoped(device: GPUDevice, kernel: string, chunk: string, fn: () => void): Promise<string | null> {
    device.pushErrorScope('internal');
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let thrown: unknown;
    try {
      fn();
    } catch (e) {
      thrown = e;
    }
    const pops = [device.popErrorScope(), device.popErrorScope(), device.popErrorScope()];
    const errs = await this.guard(Promise.all(pops), kernel, chunk);
    if (thrown) throw new GpuError(kernel, chunk, (thrown as Error).message);
    const kinds = ['validation', 'out-of-memory', 'internal'];
    const text = errs
      .map((e, i) => (e ? `${kinds[i]} error: ${e.message.trim().split('\n').join(' ')}` : ''))
      .filter(Boolean)
      .join('; ');
    return text || null;
  }

  /** Await a device promise, failing loudly if the device is lost or reported an error meanwhile. */
  private async guard<T>(p: Promise<T>, kernel: string, chunk: string): Promise<T> {
    const lost = this.lostPromise!.then((info): never => {
      throw new GpuError(kernel, chunk, `device lost (${info.reason}): ${info.message}`);
    });
    lost.catch(() => {}); // only the race below may observe it
    const v = await Promise.race([p, lost]);
    this.checkHealth(kernel, chunk);
    return v;
  }

  private checkHealth(kernel: string, chunk: string): void {
    if (this.lost) throw new GpuError(kernel, chunk, `device lost (${this.lost.reason}): ${this.lost.message}`);
    if (this.uncaptured) throw new GpuError(kernel, chunk, `uncaptured device error: ${this.uncaptured.message}`);
  }

  // ---- chunks ----

  private async runChunks(
    chunks: ChunkPlan[],
    specialize: Specialization,
    results: (RunResult | undefined)[],
    progress: (chunk: number, done: number) => void,
  ): Promise<void> {
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < chunks.length) {
        const ci = next++;
        try {
          await this.runChunk(chunks[ci], ci, chunks.length, specialize, results, (d) => progress(ci, d));
        } catch (e) {
          failed = true;
          throw e;
        }
      }
    };
    const lanes = Math.max(1, Math.min(this.opts.inFlight ?? 2, chunks.length));
    const outcomes = await Promise.allSettled(Array.from({ length: lanes }, worker));
    const bad = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult | undefined;
    if (bad) throw bad.reason;
  }

  private async runChunk(
    plan: ChunkPlan,
    ci: number,
    nChunks: number,
    specialize: Specialization,
    results: (RunResult | undefined)[],
    progress: (done: number) => void,
  ): Promise<void> {
    const device = this.device!;
    const { GPUBufferUsage: U, GPUMapMode } = webgpuGlobals();
    const chunk = `chunk ${ci + 1} of ${nChunks} (${plan.dims.C} configurations)`;
    const t0 = performance.now();
    const dims = plan.dims;
    const C = dims.C;

    // Group the chunk's configurations (already ordered by pipeline) into contiguous ranges.
    const groups: GroupRange[] = [];
    plan.configs.forEach((c, i) => {
      const key = pipelineKey(c, specialize);
      const last = groups[groups.length - 1];
      if (last && last.key === key) last.count++;
      else groups.push({ key, base: i, count: 1, first: c });
    });
    const pipes = await Promise.all(groups.map((g) => this.pipelinesFor(device, g, specialize, chunk)));
    const tPipes = performance.now();
    let rounds = 0;

    const packed = packChunk(plan);
    const bytes = chunkBufferBytes(dims);
    const reqReadWords = L.R_READBACK * Math.max(1, dims.maxN) * C;
    const cfgWords = L.S_WORDS * C;
    const buffers: GPUBuffer[] = [];
    const itersPerDispatch = this.opts.itersPerDispatch ?? 256;
    let params!: GPUBuffer, streams!: GPUBuffer, cfg!: GPUBuffer, reqs!: GPUBuffer, ranks!: GPUBuffer;
    let control!: GPUBuffer, controlRead!: GPUBuffer, resultRead!: GPUBuffer;
    const bindGroups: GPUBindGroup[] = [];
    const allocKernel = `${SIMULATION_MODULE} buffers`;
    try {
      const err = await this.scoped(device, allocKernel, chunk, () => {
        const mk = (label: string, size: number, usage: number) => {
          const b = device.createBuffer({ label: `${label} [${chunk}]`, size: Math.ceil(size / 4) * 4, usage });
          buffers.push(b);
          return b;
        };
        const S = U.STORAGE | U.COPY_DST | U.COPY_SRC;
        params = mk('params', packed.params.byteLength, U.STORAGE | U.COPY_DST);
        streams = mk('streams', packed.streams.byteLength, U.STORAGE | U.COPY_DST);
        cfg = mk('cfg', bytes.cfg, S);
        reqs = mk('reqs', bytes.reqs, S);
        ranks = mk('ranks', bytes.ranks, S);
        control = mk('control', L.CTL_WORDS * 4, S);
        controlRead = mk('control readback', L.CTL_WORDS * 4, U.MAP_READ | U.COPY_DST);
        resultRead = mk('result readback', (cfgWords + reqReadWords) * 4, U.MAP_READ | U.COPY_DST);
        device.queue.writeBuffer(params, 0, packed.params);
        device.queue.writeBuffer(streams, 0, packed.streams);
        for (const g of groups) {
          const d = new Uint32Array(DIMS_WORDS);
          d.set([C, Math.max(1, dims.maxN), Math.max(1, dims.maxG), dims.runCap, dims.maxJ, g.base, g.count, itersPerDispatch]);
          const ub = mk(`dims ${g.key}`, d.byteLength, U.UNIFORM | U.COPY_DST);
          device.queue.writeBuffer(ub, 0, d);
          bindGroups.push(
            device.createBindGroup({
              label: `simulate ${g.key}`,
              layout: this.layout!,
              entries: [ub, params, streams, cfg, reqs, ranks, control].map((buffer, binding) => ({ binding, resource: { buffer } })),
            }),
          );
        }
      });
      if (err) throw new GpuError(allocKernel, chunk, err);

      // initConfigs, once per group.
      await this.submit(device, pipes, 'init', chunk, (enc) => {
        groups.forEach((g, gi) => {
          const pass = enc.beginComputePass({ label: `${ENTRY_INIT} ${g.key}` });
          pass.setPipeline(pipes[gi].init);
          pass.setBindGroup(0, bindGroups[gi]);
          pass.dispatchWorkgroups(Math.ceil(g.count / this.workgroup));
          pass.end();
        });
      });

      // simulateSteps until every configuration is done; a few control words per round trip.
      let dispatches = 1;
      for (;;) {
        await this.submit(device, pipes, 'step', chunk, (enc) => {
          enc.clearBuffer(control);
          for (let d = 0; d < dispatches; d++) {
            // Only the last dispatch of the round counts the configurations still running.
            if (d === dispatches - 1) enc.clearBuffer(control, L.CTL_ACTIVE * 4, 4);
            groups.forEach((g, gi) => {
              const pass = enc.beginComputePass({ label: `${ENTRY_STEP} ${g.key}` });
              pass.setPipeline(pipes[gi].step);
              pass.setBindGroup(0, bindGroups[gi]);
              pass.dispatchWorkgroups(Math.ceil(g.count / this.workgroup));
              pass.end();
            });
          }
          enc.copyBufferToBuffer(control, 0, controlRead, 0, L.CTL_WORDS * 4);
        });
        const ctl = await this.readBack(controlRead, GPUMapMode.READ, this.stepKernel(pipes), chunk);
        rounds++;
        const active = ctl[L.CTL_ACTIVE];
        const ran = ctl[L.CTL_RAN];
        if (ran !== C * dispatches) {
          throw new GpuError(this.stepKernel(pipes), chunk, `${ran} of ${C * dispatches} invocations ran: the dispatch failed`);
        }
        if (ctl[L.CTL_ERRORS] > 0) break; // reported per configuration below
        progress(C - active);
        if (active === 0) break;
        // Fewer round trips while much remains; never more than ~64 dispatches per submit.
        dispatches = Math.min(64, dispatches * 2);
      }

      // Read back totals and per-request outcomes.
      await this.submit(device, pipes, 'readback', chunk, (enc) => {
        enc.copyBufferToBuffer(cfg, 0, resultRead, 0, cfgWords * 4);
        enc.copyBufferToBuffer(reqs, 0, resultRead, cfgWords * 4, reqReadWords * 4);
      });
      const data = await this.readBack(resultRead, GPUMapMode.READ, `${SIMULATION_MODULE} readback`, chunk);
      const tEnd = performance.now();
      const wallMs = (tEnd - t0) / C;
      if (this.opts.trace) {
        let iters = 0;
        for (let c = 0; c < C; c++) iters += data[L.S_ITERATIONS * C + c];
        this.opts.log?.(
          `gpu: ${chunk}: ${groups.length} pipeline${groups.length === 1 ? '' : 's'} ready in ${(tPipes - t0).toFixed(0)} ms, ` +
            `simulated in ${(tEnd - tPipes).toFixed(0)} ms (${rounds} round trips, ${iters} loop iterations, ` +
            `strides n ${dims.maxN} G ${dims.maxG} run ${dims.runCap} J ${dims.maxJ})`,
        );
      }
      this.collect(plan, data.subarray(0, cfgWords), data.subarray(cfgWords), wallMs, results, this.stepKernel(pipes), chunk);
      progress(C);
    } finally {
      for (const b of buffers) b.destroy();
    }
  }

  private stepKernel(pipes: Pipelines[]): string {
    return `${SIMULATION_MODULE}:${ENTRY_STEP} (${pipes.map((p) => p.label).join('; ')})`;
  }

  /** Encode and submit inside error scopes; resolves once the scopes report no error. */
  private async submit(
    device: GPUDevice,
    pipes: Pipelines[],
    what: 'init' | 'step' | 'readback',
    chunk: string,
    encode: (enc: GPUCommandEncoder) => void,
  ): Promise<void> {
    const kernel =
      what === 'init'
        ? `${SIMULATION_MODULE}:${ENTRY_INIT} (${pipes.map((p) => p.label).join('; ')})`
        : what === 'step'
          ? this.stepKernel(pipes)
          : `${SIMULATION_MODULE} readback`;
    this.checkHealth(kernel, chunk);
    const err = await this.scoped(device, kernel, chunk, () => {
      const enc = device.createCommandEncoder({ label: `${what} [${chunk}]` });
      encode(enc);
      device.queue.submit([enc.finish()]);
    });
    if (err) throw new GpuError(kernel, chunk, err);
  }

  /** Map a readback buffer and copy its words out. */
  private async readBack(buf: GPUBuffer, mode: number, kernel: string, chunk: string): Promise<Uint32Array> {
    try {
      await this.guard(buf.mapAsync(mode), kernel, chunk);
    } catch (e) {
      if (e instanceof GpuError) throw e;
      throw new GpuError(kernel, chunk, `reading results back failed: ${(e as Error).message}`);
    }
    const out = new Uint32Array(buf.getMappedRange().slice(0));
    buf.unmap();
    return out;
  }

  /** Turn one chunk's read-back words into result rows (the CPU engine's summarize()). */
  private collect(
    plan: ChunkPlan,
    cfg: Uint32Array,
    reqs: Uint32Array,
    wallMs: number,
    results: (RunResult | undefined)[],
    kernel: string,
    chunk: string,
  ): void {
    const C = plan.dims.C;
    const maxN = Math.max(1, plan.dims.maxN);
    const S = (f: number, c: number) => cfg[f * C + c];
    const S64 = (f: number, c: number) => cfg[f * C + c] + cfg[(f + 1) * C + c] * 2 ** 32;
    const R = (f: number, r: number, c: number) => reqs[(f * maxN + r) * C + c];
    const R64 = (f: number, r: number, c: number) => R(f, r, c) + R(f + 1, r, c) * 2 ** 32;
    const fix = 2 ** L.FIX_BITS;
    const h = this.hist;
    plan.configs.forEach((gc, c) => {
      const where = `configuration ${gc.sc.index} (${gc.sc.router}, G ${gc.sc.dp})`;
      const err = S(L.S_ERROR, c);
      if (err !== L.ERR_NONE) {
        const what =
          err === L.ERR_STALLED ? 'the simulation stalled (no runnable request and no arrival left)'
            : err === L.ERR_BAD_RANK ? 'the router returned a rank outside [0, G)'
              : err === L.ERR_STEP_OVERFLOW ? 'a step time overflowed 32 bits'
                : `internal error code ${err}`;
        throw new GpuError(kernel, chunk, `${where}: ${what}`);
      }
      if (S(L.S_DONE, c) !== 1) throw new GpuError(kernel, chunk, `${where} did not finish`);
      const wl = gc.wl;
      const n = wl.n;
      h.reset();
      let completed = 0;
      let failed = 0;
      let outputTokens = 0;
      let lastEventUs = 0;
      for (let r = 0; r < n; r++) {
        const st = R(L.R_STATUS, r, c);
        const end = R64(L.R_END_LO, r, c);
        if (st === L.ST_DONE) {
          completed++;
          outputTokens += wl.output[r];
          h.recordCompleted(wl.arrivalUs[r], R64(L.R_ADMIT_LO, r, c), R64(L.R_FIRST_LO, r, c), end, wl.output[r]);
        } else if (st === L.ST_FAILED) {
          failed++;
        } else {
          throw new GpuError(kernel, chunk, `${where}: request ${r} ended in state ${st} (neither completed nor failed)`);
        }
        if (end > lastEventUs) lastEventUs = end;
      }
      const counters = newCounters(n);
      counters.completed = S(L.S_COMPLETED, c);
      counters.failedRejected = S(L.S_FAILED_REJECTED, c);
      counters.failedTimeout = S(L.S_FAILED_TIMEOUT, c);
      if (completed !== counters.completed || failed !== counters.failedRejected + counters.failedTimeout) {
        throw new GpuError(kernel, chunk, `${where}: totals disagree with the per-request outcomes`);
      }
      counters.preemptions = S(L.S_PREEMPTIONS, c);
      counters.outputTokens = outputTokens;
      counters.steps = S(L.S_STEPS, c);
      counters.busyUs = S64(L.S_BUSY_LO, c);
      counters.imbalanceAcc = S64(L.S_IMB_LO, c) / fix;
      counters.balanceAcc = S64(L.S_BAL_LO, c) / fix;
      counters.loadWeightUs = S64(L.S_LOAD_WEIGHT_LO, c);
      counters.sumRankUs = S64(L.S_SUM_RANK_LO, c);
      counters.sumMaxRankUs = S64(L.S_SUM_MAX_LO, c);
      counters.inSystemAreaUs = S64(L.S_AREA_LO, c);
      counters.firstArrivalUs = n > 0 ? wl.arrivalUs[0] : 0;
      counters.lastEventUs = lastEventUs;
      results[gc.pos] = { scenario: gc.sc, metrics: summarize(counters, h, wallMs) };
    });
  }
}
