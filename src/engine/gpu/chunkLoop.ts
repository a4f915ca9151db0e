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

  private async runChunk(
    plan: ChunkPlan,
    ci: number,
    nChunks: number,
    specialize: Specialization,
    results: Map<number, RunResult>,
    progress: (done: number) => void,
  ): Promise<void> {
    const dev = this.dev;
    const device = dev.device;
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
    const pipes = await Promise.all(groups.map((g) => this.cache.forGroup(g, specialize, chunk)));
    const tPipes = performance.now();
    let rounds = 0;
    const labels = pipes.map((p) => p.label).join('; ');
    const initKernel = `${SIMULATION_MODULE}:${ENTRY_INIT} (${labels})`;
    const stepKernel = `${SIMULATION_MODULE}:${ENTRY_STEP} (${labels})`;
    const readKernel = `${SIMULATION_MODULE} readback`;

    const packed = packChunk(plan);
    const bytes = chunkBufferBytes(dims);
    const reqReadWords = L.R_READBACK * Math.max(1, dims.maxN) * C;
    const cfgWords = L.S_WORDS * C;
    const buffers: GPUBuffer[] = [];
    const itersPerDispatch = this.opts.itersPerDispatch ?? 256;
    let cfg!: GPUBuffer, reqs!: GPUBuffer, control!: GPUBuffer, controlRead!: GPUBuffer, resultRead!: GPUBuffer;
    const bindGroups: GPUBindGroup[] = [];
    const allocKernel = `${SIMULATION_MODULE} buffers`;
    try {
      const err = await dev.scoped(allocKernel, chunk, () => {
        const mk = (label: string, size: number, usage: number) => {
          const b = device.createBuffer({ label: `${label} [${chunk}]`, size: Math.ceil(size / 4) * 4, usage });
          buffers.push(b);
          return b;
        };
        const S = U.STORAGE | U.COPY_DST | U.COPY_SRC;
        const params = mk('params', packed.params.byteLength, U.STORAGE | U.COPY_DST);
        const streams = mk('streams', packed.streams.byteLength, U.STORAGE | U.COPY_DST);
        cfg = mk('cfg', bytes.cfg, S);
        reqs = mk('reqs', bytes.reqs, S);
        const ranks = mk('ranks', bytes.ranks, S);
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
              layout: this.cache.layout!,
              entries: [ub, params, streams, cfg, reqs, ranks, control].map((buffer, binding) => ({ binding, resource: { buffer } })),
            }),
          );
        }
      });
      if (err) throw new GpuError(allocKernel, chunk, err);

      const dispatchAll = (enc: GPUCommandEncoder, entry: string, pick: (p: Pipelines) => GPUComputePipeline) => {
        groups.forEach((g, gi) => {
          const pass = enc.beginComputePass({ label: `${entry} ${g.key}` });
          pass.setPipeline(pick(pipes[gi]));
          pass.setBindGroup(0, bindGroups[gi]);
          pass.dispatchWorkgroups(Math.ceil(g.count / this.workgroup));
          pass.end();
        });
      };

      // initConfigs, once per group.
      await dev.submit(initKernel, chunk, `init [${chunk}]`, (enc) => dispatchAll(enc, ENTRY_INIT, (p) => p.init));

      // simulateSteps until every configuration is done; a few control words per round trip.
      let dispatches = 1;
      for (;;) {
        await dev.submit(stepKernel, chunk, `step [${chunk}]`, (enc) => {
          enc.clearBuffer(control);
          for (let d = 0; d < dispatches; d++) {
            // Only the last dispatch of the round counts the configurations still running.
            if (d === dispatches - 1) enc.clearBuffer(control, L.CTL_ACTIVE * 4, 4);
            dispatchAll(enc, ENTRY_STEP, (p) => p.step);
          }
          enc.copyBufferToBuffer(control, 0, controlRead, 0, L.CTL_WORDS * 4);
        });
        const ctl = await dev.readBack(controlRead, GPUMapMode.READ, stepKernel, chunk);
        rounds++;
        const active = ctl[L.CTL_ACTIVE];
        const ran = ctl[L.CTL_RAN];
        if (ran !== C * dispatches) {
          throw new GpuError(stepKernel, chunk, `${ran} of ${C * dispatches} invocations ran: the dispatch failed`);
        }
        if (ctl[L.CTL_ERRORS] > 0) break; // reported per configuration below
        progress(C - active);
        if (active === 0) break;
        // Fewer round trips while much remains; never more than ~64 dispatches per submit.
        dispatches = Math.min(64, dispatches * 2);
      }

      // Read back totals and per-request outcomes.
      await dev.submit(readKernel, chunk, `readback [${chunk}]`, (enc) => {
        enc.copyBufferToBuffer(cfg, 0, resultRead, 0, cfgWords * 4);
        enc.copyBufferToBuffer(reqs, 0, resultRead, cfgWords * 4, reqReadWords * 4);
      });
      const data = await dev.readBack(resultRead, GPUMapMode.READ, readKernel, chunk);
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
      collectChunk(plan, data.subarray(0, cfgWords), data.subarray(cfgWords), wallMs, results, this.hist, stepKernel, chunk, this.opts.requestLog);
      progress(C);
    } finally {
      for (const b of buffers) b.destroy();
    }
  }
}
