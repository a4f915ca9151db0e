/**
 * The WebGPU engine: simulates configurations with the WGSL kernels of shaders/ through Dawn for
 * Node. prepare.ts turns scenarios into parameter columns and splits them into chunks that fit
 * the device (configurations the kernels cannot run are returned, with the reason, to the caller:
 * src/engine/choose.ts runs them on the CPU engine); device.ts holds the device and its error
 * scopes, pipelines.ts the compiled module and pipelines, chunkLoop.ts the dispatch loop and
 * readback.ts the result rows.
 *
 * Every Dawn error (shader compilation, validation, out-of-memory, internal, device loss) fails
 * the run with a GpuError naming the kernel and the chunk; the device is destroyed on every path.
 */
import type { Scenario } from '../../config/scenario.ts';
import type { Engine, EngineInfo, EngineProgress, RunResult } from '../types.ts';
import { probeAdapter, type AdapterProbe } from './adapter.ts';
import { ChunkLoop } from './chunkLoop.ts';
import { GpuDevice } from './device.ts';
import { GpuError, GpuUnavailableError } from './gpuError.ts';
import { PipelineCache } from './pipelines.ts';
import { planChunks, prepareConfig } from './prepare.ts';
import type { CpuFallback, GpuConfig, GpuEngineOptions, Specialization } from './types.ts';

export type { GpuEngineOptions } from './types.ts';

/** A device with its compiled pipelines and chunk loop; dropped whole on any failure. */
interface Session {
  dev: GpuDevice;
  loop: ChunkLoop;
}

export class GpuEngine implements Engine {
  readonly info: EngineInfo;
  private readonly probe: AdapterProbe;
  private readonly opts: GpuEngineOptions;
  private readonly workgroup: number;
  private session: Session | null = null;

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

  /**
   * Prepare scenarios for the kernels; those they cannot simulate (time series, held requests,
   * limits of 32-bit arithmetic) come back in `cpu` with the reason.
   */
  split(scenarios: readonly Scenario[]): { gpu: GpuConfig[]; cpu: CpuFallback[] } {
    const gpu: GpuConfig[] = [];
    const cpu: CpuFallback[] = [];
    scenarios.forEach((sc, pos) => {
      const p = prepareConfig(sc, pos);
      if ('reason' in p) cpu.push(p);
      else gpu.push(p);
    });
    return { gpu, cpu };
  }

  /**
   * Simulate prepared configurations; results by input position. Configurations too large for
   * any chunk on this device come back in `tooLarge`.
   */
  async runPrepared(
    configs: GpuConfig[],
    onDone?: (done: number) => void,
  ): Promise<{ results: Map<number, RunResult>; tooLarge: CpuFallback[] }> {
    const results = new Map<number, RunResult>();
    if (configs.length === 0) return { results, tooLarge: [] };
    try {
      const { dev, loop } = await this.ensureSession();
      const budget = dev.budget(this.opts, this.probe.isFallback, this.workgroup);
      const specialize: Specialization = { router: this.opts.specialize ?? !this.probe.isFallback, G: this.opts.specializeG ?? false };
      const { chunks, tooLarge } = planChunks(configs, budget);
      const perChunk = new Map<number, number>();
      await loop.runAll(chunks, specialize, results, (ci, done) => {
        perChunk.set(ci, done);
        let d = 0;
        for (const v of perChunk.values()) d += v;
        onDone?.(d);
      });
      return { results, tooLarge: tooLarge.map((c) => ({ pos: c.pos, sc: c.sc, reason: 'too large for one GPU buffer' })) };
    } catch (e) {
      // A failed run leaves nothing behind: the device goes (Dawn would keep a core busy).
      this.dropSession();
      throw e;
    }
  }

  /** Simulate on the GPU only: a configuration the kernels cannot run is an error (see choose.ts). */
  async run(scenarios: readonly Scenario[], onProgress?: (p: EngineProgress) => void): Promise<RunResult[]> {
    const total = scenarios.length;
    const { gpu, cpu } = this.split(scenarios);
    const { results, tooLarge } = await this.runPrepared(gpu, (done) => onProgress?.({ done, total }));
    const off = [...cpu, ...tooLarge][0];
    if (off) throw new GpuError('(planning)', 'before the first chunk', `configuration ${off.sc.index} cannot run on the GPU: ${off.reason}`);
    return scenarios.map((sc, pos) => {
      const r = results.get(pos);
      if (!r) throw new Error(`WebGPU engine: no result for configuration ${sc.index}`);
      return r;
    });
  }

  async close(): Promise<void> {
    this.dropSession();
  }

  private async ensureSession(): Promise<Session> {
    if (this.session) return this.session;
    const dev = await GpuDevice.open(this.probe);
    const cache = new PipelineCache(dev, this.workgroup, this.opts.shaderOverride);
    this.session = { dev, loop: new ChunkLoop(dev, cache, this.workgroup, this.opts) };
    return this.session;
  }

  private dropSession(): void {
    const s = this.session;
    this.session = null;
    s?.dev.destroy();
  }
}
