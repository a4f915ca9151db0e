/**
 * Engine choice and CPU fallback, in one place.
 *
 * `cpu` is the reference engine. `gpu` runs on any WebGPU adapter (SwiftShader included) or fails
 * with one line; `auto` takes the GPU only on a hardware adapter (a software one is slower than
 * the CPU engine) and says why otherwise. On the GPU, configurations the kernels cannot simulate
 * (time series, held requests, limits of 32-bit arithmetic, too large for one buffer) run on the
 * CPU engine, with a note saying how many and why. The WebGPU modules are loaded only when the GPU
 * is chosen: `webgpu` is an optional dependency.
 */
import type { Scenario } from '../config/scenario.ts';
import { InputError, InputProblem } from '../errors.ts';
import { PD_ON_CPU } from './pd/simulatePd.ts';
import { CpuEngine } from './cpu/cpuEngine.ts';
import { probeAdapter, type AdapterProbe } from './gpu/adapter.ts';
import type { GpuEngine } from './gpu/gpuEngine.ts';
import type { CpuFallback, GpuEngineOptions } from './gpu/types.ts';
import type { Engine, EngineInfo, EngineProgress, RunResult } from './types.ts';

export type EngineName = 'cpu' | 'gpu' | 'auto';

export interface EngineChoice {
  engine: EngineName;
  /** Worker threads of the CPU engine (also for the GPU's fallback configurations). */
  threads?: number;
  /** Per-chunk timings of the GPU engine through `log`. */
  trace?: boolean;
  /** Cap CPU threads at the cores available (the CLI, unless --threads-force). */
  capAtCores?: boolean;
}

/**
 * Pick the engine and say which and why through `log`. `gpu` without an adapter is a one-line
 * InputError naming the engine.
 */
export async function chooseEngine(
  choice: EngineChoice,
  log: (s: string) => void,
  probe: () => Promise<AdapterProbe> = probeAdapter,
): Promise<Engine> {
  const { threads, trace, capAtCores } = choice;
  if (choice.engine === 'cpu') return new CpuEngine({ threads, capAtCores });
  const found = await probe();
  if (choice.engine === 'gpu') {
    if (!found.adapter) throw new InputProblem('engine', `${found.reason}; use --engine cpu or auto`);
    log(`engine: gpu (${found.name}${found.isFallback ? ', a software adapter: correct but slower than the cpu engine' : ''})`);
    return createGpuEngine({ probe: found, threads, capAtCores, log, trace });
  }
  if (found.adapter && !found.isFallback) {
    log(`engine: gpu (auto: hardware adapter ${found.name})`);
    return createGpuEngine({ probe: found, threads, capAtCores, log, trace });
  }
  if (found.adapter) log(`engine: cpu (auto: only a software adapter (${found.name}) was found)`);
  else log(`engine: cpu (auto: ${found.reason || 'no WebGPU adapter'})`);
  return new CpuEngine({ threads, capAtCores });
}

/**
 * `--engine gpu` asked for configurations only the CPU engine simulates (topology pd): a one-line
 * error rather than a silent hand-over (with `auto` they go to the CPU engine with a note).
 */
export function refuseGpuOnly(engine: EngineName, scenarios: readonly Scenario[]): void {
  if (engine === 'gpu' && scenarios.some((s) => (s.topology ?? 'colocated') === 'pd')) {
    throw new InputError('engine', engine, `${PD_ON_CPU} (no WGSL port yet); use --engine cpu or auto`);
  }
}

/** The WebGPU engine with CPU fallback for the configurations it cannot simulate. */
export async function createGpuEngine(opts: GpuEngineOptions & { threads?: number; capAtCores?: boolean } = {}): Promise<Engine> {
  const { GpuEngine } = await import('./gpu/gpuEngine.ts');
  return new GpuWithCpuFallback(await GpuEngine.create(opts), opts);
}

export class GpuWithCpuFallback implements Engine {
  readonly info: EngineInfo;

  constructor(
    private readonly gpu: GpuEngine,
    private readonly opts: { threads?: number; capAtCores?: boolean; log?: (line: string) => void } = {},
  ) {
    this.info = gpu.info;
  }

  async run(scenarios: readonly Scenario[], onProgress?: (p: EngineProgress) => void): Promise<RunResult[]> {
    const total = scenarios.length;
    let gpuDone = 0;
    let cpuDone = 0;
    const report = () => onProgress?.({ done: gpuDone + cpuDone, total });
    const { gpu, cpu: fallback } = this.gpu.split(scenarios);
    const { results, tooLarge } = await this.gpu.runPrepared(gpu, (d) => {
      gpuDone = d;
      report();
    });
    fallback.push(...tooLarge);
    if (fallback.length > 0) {
      this.noteFallback(fallback);
      const cpu = new CpuEngine({ threads: this.opts.threads, capAtCores: this.opts.capAtCores });
      try {
        const out = await cpu.run(
          fallback.map((f) => f.sc),
          (p) => {
            cpuDone = p.done;
            report();
          },
        );
        out.forEach((r, i) => results.set(fallback[i].pos, r));
      } finally {
        await cpu.close();
      }
    }
    return scenarios.map((sc, pos) => {
      const r = results.get(pos);
      if (!r) throw new Error(`WebGPU engine: no result for configuration ${sc.index}`);
      return r;
    });
  }

  close(): Promise<void> {
    return this.gpu.close();
  }

  private noteFallback(fallback: CpuFallback[]): void {
    const byReason = new Map<string, number>();
    for (const f of fallback) byReason.set(f.reason, (byReason.get(f.reason) ?? 0) + 1);
    for (const [reason, n] of byReason) {
      this.opts.log?.(`engine: ${n} configuration${n === 1 ? '' : 's'} on the cpu engine (${reason})`);
    }
  }
}
