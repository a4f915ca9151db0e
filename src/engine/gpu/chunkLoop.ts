/**
 * The chunk loop: for each chunk, allocate and fill its buffers, run `initConfigs`, then dispatch
 * `simulateSteps` (each invocation = one configuration, up to `itersPerDispatch` loop iterations
 * per dispatch, state resident in the buffers) until every configuration reports done, reading
 * back only a few control words in between; then read back the totals and per-request times
 * (readback.ts). Two chunks are in flight at a time: while one computes, the other is packed or
 * read back.
 */
import { LatencyHistograms } from '../../metrics/summary.ts';
import type { RunResult } from '../types.ts';
import { webgpuGlobals } from './adapter.ts';
import type { GpuDevice } from './device.ts';
import { GpuError } from './gpuError.ts';
import { DIMS_WORDS, L, chunkBufferBytes } from './layout.ts';
import type { PipelineCache } from './pipelines.ts';
import { packChunk, pipelineKey } from './prepare.ts';
import { collectChunk } from './readback.ts';
import { ENTRY_INIT, ENTRY_STEP, SIMULATION_MODULE } from './shaderSource.ts';
import type { ChunkPlan, GpuEngineOptions, GroupRange, Pipelines, Specialization } from './types.ts';

export class ChunkLoop {
  private readonly hist = new LatencyHistograms();

  constructor(
    private readonly dev: GpuDevice,
    private readonly cache: PipelineCache,
    private readonly workgroup: number,
    private readonly opts: Pick<GpuEngineOptions, 'itersPerDispatch' | 'inFlight' | 'trace' | 'log' | 'requestLog'>,
  ) {}

  /** Run every chunk (opts.inFlight at a time); results go into `results` by input position. */
  async runAll(
    chunks: ChunkPlan[],
    specialize: Specialization,
    results: Map<number, RunResult>,
    progress: (chunk: number, done: number) => void,
  ): Promise<void> {
    let next = 0;
    let failed = false;
    const lane = async () => {
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
    const outcomes = await Promise.allSettled(Array.from({ length: lanes }, lane));
    const bad = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult | undefined;
    if (bad) throw bad.reason;
  }

  /**
   * One chunk, in phases: group its configurations by pipeline, allocate and fill the buffers,
   * run `initConfigs`, step until every configuration is done, read back and collect the rows.
   */
  private async runChunk(
    plan: ChunkPlan,
    ci: number,
    nChunks: number,
    specialize: Specialization,
    results: Map<number, RunResult>,
    progress: (done: number) => void,
  ): Promise<void> {
    const chunk = `chunk ${ci + 1} of ${nChunks} (${plan.dims.C} configurations)`;
    const t0 = performance.now();
    const groups = groupByPipeline(plan, specialize);
    const pipes = await Promise.all(groups.map((g) => this.cache.forGroup(g, specialize, chunk)));
    const tPipes = performance.now();
    const labels = pipes.map((p) => p.label).join('; ');
    const kernels = {
      init: `${SIMULATION_MODULE}:${ENTRY_INIT} (${labels})`,
      step: `${SIMULATION_MODULE}:${ENTRY_STEP} (${labels})`,
      read: `${SIMULATION_MODULE} readback`,
    };
    const buffers: GPUBuffer[] = [];
    try {
      const b = await this.allocate(plan, groups, chunk, buffers);
      const dispatchAll = (enc: GPUCommandEncoder, entry: string, pick: (p: Pipelines) => GPUComputePipeline) => {
        groups.forEach((g, gi) => {
          const pass = enc.beginComputePass({ label: `${entry} ${g.key}` });
          pass.setPipeline(pick(pipes[gi]));
          pass.setBindGroup(0, b.bindGroups[gi]);
          pass.dispatchWorkgroups(Math.ceil(g.count / this.workgroup));
          pass.end();
        });
      };
      await this.dev.submit(kernels.init, chunk, `init [${chunk}]`, (enc) => dispatchAll(enc, ENTRY_INIT, (p) => p.init));
      const rounds = await this.stepUntilDone(plan.dims.C, b, dispatchAll, kernels.step, chunk, progress);

      // Read back totals and per-request outcomes.
      const { GPUMapMode } = webgpuGlobals();
      await this.dev.submit(kernels.read, chunk, `readback [${chunk}]`, (enc) => {
        enc.copyBufferToBuffer(b.cfg, 0, b.resultRead, 0, b.cfgWords * 4);
        enc.copyBufferToBuffer(b.reqs, 0, b.resultRead, b.cfgWords * 4, b.reqReadWords * 4);
      });
      const data = await this.dev.readBack(b.resultRead, GPUMapMode.READ, kernels.read, chunk);
      const tEnd = performance.now();
      const C = plan.dims.C;
      if (this.opts.trace) {
        let iters = 0;
        for (let c = 0; c < C; c++) iters += data[L.S_ITERATIONS * C + c];
        const d = plan.dims;
        this.opts.log?.(
          `gpu: ${chunk}: ${groups.length} pipeline${groups.length === 1 ? '' : 's'} ready in ${(tPipes - t0).toFixed(0)} ms, ` +
            `simulated in ${(tEnd - tPipes).toFixed(0)} ms (${rounds} round trips, ${iters} loop iterations, ` +
            `strides n ${d.maxN} G ${d.maxG} run ${d.runCap} J ${d.maxJ})`,
        );
      }
      collectChunk(plan, data.subarray(0, b.cfgWords), data.subarray(b.cfgWords), (tEnd - t0) / C, results, this.hist, kernels.step, chunk, this.opts.requestLog);
      progress(C);
    } finally {
      for (const buf of buffers) buf.destroy();
    }
  }

  /** Create and fill the chunk's buffers and one bind group per pipeline group (all in `buffers`, for clean-up). */
  private async allocate(plan: ChunkPlan, groups: GroupRange[], chunk: string, buffers: GPUBuffer[]): Promise<ChunkBuffers> {
    const device = this.dev.device;
    const { GPUBufferUsage: U } = webgpuGlobals();
    const dims = plan.dims;
    const C = dims.C;
    const packed = packChunk(plan);
    const bytes = chunkBufferBytes(dims);
    const reqReadWords = L.R_READBACK * Math.max(1, dims.maxN) * C;
    const cfgWords = L.S_WORDS * C;
    const itersPerDispatch = this.opts.itersPerDispatch ?? 256;
    const out = { cfgWords, reqReadWords, bindGroups: [] as GPUBindGroup[] } as ChunkBuffers;
    const allocKernel = `${SIMULATION_MODULE} buffers`;
    const err = await this.dev.scoped(allocKernel, chunk, () => {
      const mk = (label: string, size: number, usage: number) => {
        const b = device.createBuffer({ label: `${label} [${chunk}]`, size: Math.ceil(size / 4) * 4, usage });
        buffers.push(b);
        return b;
      };
      const S = U.STORAGE | U.COPY_DST | U.COPY_SRC;
      const params = mk('params', packed.params.byteLength, U.STORAGE | U.COPY_DST);
      const streams = mk('streams', packed.streams.byteLength, U.STORAGE | U.COPY_DST);
      out.cfg = mk('cfg', bytes.cfg, S);
      out.reqs = mk('reqs', bytes.reqs, S);
      const ranks = mk('ranks', bytes.ranks, S);
      out.control = mk('control', L.CTL_WORDS * 4, S);
      out.controlRead = mk('control readback', L.CTL_WORDS * 4, U.MAP_READ | U.COPY_DST);
      out.resultRead = mk('result readback', (cfgWords + reqReadWords) * 4, U.MAP_READ | U.COPY_DST);
      device.queue.writeBuffer(params, 0, packed.params);
      device.queue.writeBuffer(streams, 0, packed.streams);
      for (const g of groups) {
        const d = new Uint32Array(DIMS_WORDS);
        d.set([C, Math.max(1, dims.maxN), Math.max(1, dims.maxG), dims.runCap, dims.maxJ, g.base, g.count, itersPerDispatch]);
        const ub = mk(`dims ${g.key}`, d.byteLength, U.UNIFORM | U.COPY_DST);
        device.queue.writeBuffer(ub, 0, d);
        out.bindGroups.push(
          device.createBindGroup({
            label: `simulate ${g.key}`,
            layout: this.cache.layout!,
            entries: [ub, params, streams, out.cfg, out.reqs, ranks, out.control].map((buffer, binding) => ({ binding, resource: { buffer } })),
          }),
        );
      }
    });
    if (err) throw new GpuError(allocKernel, chunk, err);
    return out;
  }

  /**
   * Dispatch `simulateSteps` until every configuration is done, reading back only the control
   * words between rounds; returns the number of round trips.
   */
  private async stepUntilDone(
    C: number,
    b: ChunkBuffers,
    dispatchAll: (enc: GPUCommandEncoder, entry: string, pick: (p: Pipelines) => GPUComputePipeline) => void,
    stepKernel: string,
    chunk: string,
    progress: (done: number) => void,
  ): Promise<number> {
    const { GPUMapMode } = webgpuGlobals();
    let rounds = 0;
    let dispatches = 1;
    for (;;) {
      await this.dev.submit(stepKernel, chunk, `step [${chunk}]`, (enc) => {
        enc.clearBuffer(b.control);
        for (let d = 0; d < dispatches; d++) {
          // Only the last dispatch of the round counts the configurations still running.
          if (d === dispatches - 1) enc.clearBuffer(b.control, L.CTL_ACTIVE * 4, 4);
          dispatchAll(enc, ENTRY_STEP, (p) => p.step);
        }
        enc.copyBufferToBuffer(b.control, 0, b.controlRead, 0, L.CTL_WORDS * 4);
      });
      const ctl = await this.dev.readBack(b.controlRead, GPUMapMode.READ, stepKernel, chunk);
      rounds++;
      const active = ctl[L.CTL_ACTIVE];
      const ran = ctl[L.CTL_RAN];
      if (ran !== C * dispatches) {
        throw new GpuError(stepKernel, chunk, `${ran} of ${C * dispatches} invocations ran: the dispatch failed`);
      }
      if (ctl[L.CTL_ERRORS] > 0) return rounds; // reported per configuration by collectChunk
      progress(C - active);
      if (active === 0) return rounds;
      // Fewer round trips while much remains; never more than ~64 dispatches per submit.
      dispatches = Math.min(64, dispatches * 2);
    }
  }
}

/** The buffers of one chunk the loop reads and writes after allocation. */
interface ChunkBuffers {
  cfg: GPUBuffer;
  reqs: GPUBuffer;
  control: GPUBuffer;
  controlRead: GPUBuffer;
  resultRead: GPUBuffer;
  bindGroups: GPUBindGroup[];
  cfgWords: number;
  reqReadWords: number;
}

/** The chunk's configurations (already ordered by pipeline) as contiguous ranges of one pipeline each. */
function groupByPipeline(plan: ChunkPlan, specialize: Specialization): GroupRange[] {
  const groups: GroupRange[] = [];
  plan.configs.forEach((c, i) => {
    const key = pipelineKey(c, specialize);
    const last = groups[groups.length - 1];
    if (last && last.key === key) last.count++;
    else groups.push({ key, base: i, count: 1, first: c });
  });
  return groups;
}
