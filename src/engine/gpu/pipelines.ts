/**
 * The simulation module, its bind group layout and its compute pipelines on one device: compiled
 * once, pipelines cached by key (router, dispatch mode, G when specialised), compilation errors
 * reported with their WGSL line and column.
 */
import type { GpuDevice } from './device.ts';
import { GpuError } from './gpuError.ts';
import { pipelineConstants } from './prepare.ts';
import { routerIdName } from './routing.ts';
import { ENTRY_INIT, ENTRY_STEP, SIMULATION_MODULE, simulationSource } from './shaderSource.ts';
import type { GpuConfig, GroupRange, Pipelines, Specialization } from './types.ts';

/** Storage bindings of the simulation module, as layout.wgsl declares them (0 is the dims uniform). */
export const BINDINGS: GPUBufferBindingType[] = ['uniform', 'read-only-storage', 'read-only-storage', 'storage', 'storage', 'storage', 'storage'];
const COMPUTE = 4; // GPUShaderStage.COMPUTE

export class PipelineCache {
  private modulePromise: Promise<GPUShaderModule> | null = null;
  private initPipeline: Promise<GPUComputePipeline> | null = null;
  private pipelineLayout: GPUPipelineLayout | null = null;
  /** Bind group layout of the simulation module (set once the module is compiled). */
  layout: GPUBindGroupLayout | null = null;
  private readonly pipelines = new Map<string, Promise<Pipelines>>();

  constructor(
    private readonly dev: GpuDevice,
    private readonly workgroup: number,
    private readonly shaderOverride?: (module: string, source: string) => string,
  ) {}

  /** The pipelines of a group of configurations (built on first use). */
  forGroup(g: GroupRange, specialize: Specialization, chunk: string): Promise<Pipelines> {
    let p = this.pipelines.get(g.key);
    if (!p) {
      p = this.build(g.first, specialize, chunk);
      this.pipelines.set(g.key, p);
      p.catch(() => this.pipelines.delete(g.key));
    }
    return p;
  }

  private ensureModule(chunk: string): Promise<GPUShaderModule> {
    this.modulePromise ??= this.buildModule(chunk);
    this.modulePromise.catch(() => (this.modulePromise = null));
    return this.modulePromise;
  }

  private async buildModule(chunk: string): Promise<GPUShaderModule> {
    const device = this.dev.device;
    let code = simulationSource();
    if (this.shaderOverride) code = this.shaderOverride(SIMULATION_MODULE, code);
    let module: GPUShaderModule | undefined;
    const errors = await this.dev.scoped(SIMULATION_MODULE, chunk, () => {
      module = device.createShaderModule({ label: SIMULATION_MODULE, code });
    });
    const info = await module!.getCompilationInfo();
    const msgs = info.messages.filter((m) => m.type === 'error');
    if (msgs.length > 0 || errors) {
      const text = msgs.length ? msgs.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ') : errors!;
      throw new GpuError(SIMULATION_MODULE, chunk, `shader compilation failed: ${text}`);
    }
    this.layout = device.createBindGroupLayout({
      label: 'simulate',
      entries: BINDINGS.map((type, binding) => ({ binding, visibility: COMPUTE, buffer: { type } })),
    });
    this.pipelineLayout = device.createPipelineLayout({ label: 'simulate', bindGroupLayouts: [this.layout] });
    return module!;
  }

  private async build(c: GpuConfig, specialize: Specialization, chunk: string): Promise<Pipelines> {
    const module = await this.ensureModule(chunk);
    const label = specialize.router
      ? `router ${routerIdName(c.routerId)}, ${c.perStep ? 'per_step' : 'on_arrival'}, G ${specialize.G ? c.sc.dp : 'from the parameters'}`
      : 'generic: router, dispatch and G from the parameters';
    const make = async (entryPoint: string, constants: Record<string, number>): Promise<GPUComputePipeline> => {
      const kernel = `${SIMULATION_MODULE}:${entryPoint} (${label})`;
      let pipeline: Promise<GPUComputePipeline> | undefined;
      const errors = await this.dev.scoped(kernel, chunk, () => {
        pipeline = this.dev.device.createComputePipelineAsync({
          label: kernel,
          layout: this.pipelineLayout!,
          compute: { module, entryPoint, constants },
        });
      });
      if (errors) throw new GpuError(kernel, chunk, `pipeline creation failed: ${errors}`);
      try {
        return await this.dev.guard(pipeline!, kernel, chunk);
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
}
