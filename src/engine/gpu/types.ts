/**
 * Types of the WebGPU engine, in the order data flows: options, a configuration prepared for the
 * GPU (or handed to the CPU engine), the device's budget, a chunk's plan and packed inputs, the
 * pipelines a chunk runs on.
 */
import type { Scenario } from '../../config/scenario.ts';
import type { StepModel } from '../../model/types.ts';
import type { Workload } from '../../workload/types.ts';
import type { AdapterProbe } from './adapter.ts';
import type { ChunkDims } from './layout.ts';

export interface GpuEngineOptions {
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
  /** Notes for the user (per-chunk timings with `trace`). */
  log?: (line: string) => void;
  /** Use this adapter probe instead of probing. */
  probe?: AdapterProbe;
  /** Log per-chunk timings through `log`. */
  trace?: boolean;
  /**
   * Also return each configuration's per-request log (status, rank, queued / scheduled / first
   * admission / first token / end times) in `RunResult.requests`, read back from the kernels.
   */
  requestLog?: boolean;
  /** Test hook: rewrite a module's WGSL before it is compiled (e.g. to break it on purpose). */
  shaderOverride?: (module: string, source: string) => string;
}

/** A configuration ready for the GPU. */
export interface GpuConfig {
  /** Position in the engine's input list. */
  pos: number;
  sc: Scenario;
  wl: Workload;
  wlKey: string;
  /** The step-time model for this G (stepModelForDp). */
  model: StepModel;
  /** Key of the model's max-rank-token curve (shared in the stream buffer), '' when none. */
  curveKey: string;
  /** RT_* router id (override constant ROUTER). */
  routerId: number;
  perStep: boolean;
  /** Horizon offsets (decode steps) of horizon routers, else []. */
  horizon: number[];
  /** min(max_num_seqs, requests): running-list slots this configuration can use per rank. */
  runSlots: number;
  /**
   * brh with the noisy predictor: key of its per-request noise stream (shared by configurations
   * of the same workload and sigma) and sigma; '' otherwise.
   */
  noiseKey: string;
  noiseSigma: number;
  /** Async scheduling, resolved from the scenario and the model (docs/model.md §3.1). */
  asyncScheduling: boolean;
}

/** A configuration the GPU engine hands to the CPU engine, and why. */
export interface CpuFallback {
  pos: number;
  sc: Scenario;
  reason: string;
}

/** How far pipelines are specialised by override constants. */
export interface Specialization {
  /** One pipeline per router and dispatch mode (else one generic pipeline reads them). */
  router: boolean;
  /** Also one per G (G_FIXED), so loops over ranks have a constant trip count. */
  G: boolean;
}

export interface DeviceBudget {
  /** Largest storage binding, bytes. */
  maxBindingBytes: number;
  /** Largest buffer, bytes. */
  maxBufferBytes: number;
  /** Soft cap on the bytes of one chunk's buffers together. */
  maxChunkBytes: number;
  /** Cap on configurations per chunk (also bounded by maxComputeWorkgroupsPerDimension * 64). */
  maxConfigs: number;
}

export interface ChunkPlan {
  configs: GpuConfig[];
  dims: ChunkDims;
  /** Words of the shared stream buffer. */
  streamWords: number;
}

/** Packed inputs of one chunk. */
export interface PackedChunk {
  params: Uint32Array<ArrayBuffer>;
  streams: Uint32Array<ArrayBuffer>;
}

/** The two pipelines of one group of a chunk's configurations. */
export interface Pipelines {
  init: GPUComputePipeline;
  step: GPUComputePipeline;
  label: string;
}

/** A contiguous range of a chunk's configurations that share a pipeline. */
export interface GroupRange {
  key: string;
  base: number;
  count: number;
  first: GpuConfig;
}
