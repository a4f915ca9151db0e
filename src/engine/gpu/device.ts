/**
 * One Dawn device and its error handling: every call that can fail runs inside validation,
 * out-of-memory and internal error scopes, every await on the device also watches for device loss
 * and uncaptured errors, and each failure becomes a GpuError naming the kernel and the chunk.
 */
import type { AdapterProbe } from './adapter.ts';
import { GpuError, GpuUnavailableError } from './gpuError.ts';
import type { DeviceBudget } from './types.ts';

export class GpuDevice {
  readonly device: GPUDevice;
  private lost: GPUDeviceLostInfo | null = null;
  private readonly lostPromise: Promise<GPUDeviceLostInfo>;
  private uncaptured: GPUError | null = null;

  private constructor(device: GPUDevice) {
    this.device = device;
    this.lostPromise = device.lost.then((info) => {
      this.lost = info;
      return info;
    });
    device.addEventListener('uncapturederror', (ev) => {
      this.uncaptured ??= (ev as GPUUncapturedErrorEvent).error;
    });
  }

  /** A fresh device on the probed adapter, with the adapter's own buffer limits. */
  static async open(probe: AdapterProbe): Promise<GpuDevice> {
    // An adapter hands out one device: take a fresh one for every device.
    const adapter = (await probe.gpu!.requestAdapter({ powerPreference: 'high-performance' })) ?? null;
    if (!adapter) throw new GpuUnavailableError(`the WebGPU adapter (${probe.name}) is no longer available`);
    const lim = adapter.limits;
    try {
      // The adapter's own limits: larger chunks than the WebGPU defaults (128/256 MiB).
      const device = await adapter.requestDevice({
        label: 'balanceroute',
        requiredLimits: {
          maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
          maxBufferSize: lim.maxBufferSize,
        },
      });
      return new GpuDevice(device);
    } catch (e) {
      throw new GpuError('(device creation)', 'before the first chunk', `${probe.name}: ${(e as Error).message}`);
    }
  }

  /** What one chunk may use, from the device's limits and the engine's options. */
  budget(opts: { maxConfigsPerChunk?: number; maxChunkBytes?: number }, isFallback: boolean, workgroup: number): DeviceBudget {
    const lim = this.device.limits;
    const maxBinding = lim.maxStorageBufferBindingSize;
    const maxConfigs = Math.min(opts.maxConfigsPerChunk ?? (isFallback ? 2048 : 1 << 20), lim.maxComputeWorkgroupsPerDimension * workgroup);
    return {
      maxBindingBytes: maxBinding,
      maxBufferBytes: lim.maxBufferSize,
      maxChunkBytes: opts.maxChunkBytes ?? Math.min(2 ** 30, 4 * maxBinding),
      maxConfigs: Math.max(1, maxConfigs),
    };
  }

  destroy(): void {
    this.device.destroy();
  }

  /**
   * Run `fn` (synchronous: nothing else may interleave with the scopes) inside validation,
   * out-of-memory and internal error scopes; resolve to the errors' text, or null.
   */
  async scoped(kernel: string, chunk: string, fn: () => void): Promise<string | null> {
    const device = this.device;
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
  async guard<T>(p: Promise<T>, kernel: string, chunk: string): Promise<T> {
    const lost = this.lostPromise.then((info): never => {
      throw new GpuError(kernel, chunk, `device lost (${info.reason}): ${info.message}`);
    });
    lost.catch(() => {}); // only the race below may observe it
    const v = await Promise.race([p, lost]);
    this.checkHealth(kernel, chunk);
    return v;
  }

  checkHealth(kernel: string, chunk: string): void {
    if (this.lost) throw new GpuError(kernel, chunk, `device lost (${this.lost.reason}): ${this.lost.message}`);
    if (this.uncaptured) throw new GpuError(kernel, chunk, `uncaptured device error: ${this.uncaptured.message}`);
  }

  /** Encode and submit inside error scopes; resolves once the scopes report no error. */
  async submit(kernel: string, chunk: string, label: string, encode: (enc: GPUCommandEncoder) => void): Promise<void> {
    this.checkHealth(kernel, chunk);
    const err = await this.scoped(kernel, chunk, () => {
      const enc = this.device.createCommandEncoder({ label });
      encode(enc);
      this.device.queue.submit([enc.finish()]);
    });
    if (err) throw new GpuError(kernel, chunk, err);
  }

  /** Map a readback buffer and copy its words out. */
  async readBack(buf: GPUBuffer, mode: number, kernel: string, chunk: string): Promise<Uint32Array> {
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
}
