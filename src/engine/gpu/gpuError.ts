/** Errors of the WebGPU engine: always name the kernel and the chunk (docs/gpu.md, "Failures"). */

export class GpuError extends Error {
  readonly kernel: string;
  readonly chunk: string;
  constructor(kernel: string, chunk: string, message: string) {
    super(`WebGPU engine: kernel ${kernel}, ${chunk}: ${message}`);
    this.name = 'GpuError';
    this.kernel = kernel;
    this.chunk = chunk;
  }
}

/** `--engine gpu` without an adapter: a one-line user-facing failure (exit code 2). */
export class GpuUnavailableError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'GpuUnavailableError';
  }
}
