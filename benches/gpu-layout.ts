/**
 * Memory accesses per rank-step of the two step algorithms, counted on the same trajectories
 * (`npm run bench:gpu-layout`): the per-request walk of the WGSL kernel (shaders/simulate.wgsl:
 * every stepped step walks each rank's running list in scheduleRank and again in finishStep, a
 * completion shifts the slots behind it, a decode-only step that finds no stretch walks the list
 * once more, and a stretch walks it three times and then costs O(active ranks) per step) against the
 * CPU engine's event-driven core (src/engine/core/decodeSet.ts: a rank's decoding prefix as
 * aggregates, a completion min-heap, a count of members by context mod block size).
 *
 * Both algorithms produce the same trajectory, so one run of the CPU engine (event core on, as by
 * default) gives both sets of counts: the per-request walk visits every running request of every
 * stepped rank-step, the event core only the requests outside its decoding prefix plus its heap
 * and bucket operations. The run is driven here step by step like the offline driver
 * (src/engine/cpu/simulate.ts, runBarrier) and its DecodeSet's methods are wrapped on this one
 * instance to count calls, sift levels and loop lengths; nothing in the engine changes, and the
 * driver checks that its metrics equal `simulate()`'s.
 *
 * What is counted and what is derived:
 * - counted (exact, from the run): loop iterations (stepped steps, stretches, idle jumps: the
 *   kernel's `iterate()` calls), rank-steps, running requests per stepped rank-step, members
 *   aggregated, fallbacks, heap pops and pushes with the levels each sift moved, stretch lengths;
 * - counted from the code (constants below, per visit or per operation): word loads and stores of
 *   each algorithm on the kernel's SoA buffers, split by address pattern across a warp —
 *   `uniform` (index the same on every lane: rank words, running-list slots; coalesced),
 *   `request` (indexed by a request id read from the list: coalesced only when the lanes hold the
 *   same request in that slot), `data` (indexed by a value each lane computed: heap children,
 *   the phase bucket; scattered) — and the dependent-load depth of each;
 * - measured on the trajectories (sweep set only): for warps of 32 configurations in the GPU
 *   engine's chunk order (prepare.ts planChunks) run in lockstep by the kernel's loop iterations,
 *   how many 32-byte sectors the walk's request-indexed loads touch per warp-load, against the 1-4
 *   of a fully coalesced load and one per active lane of a fully scattered one, and the lanes idle
 *   in the walk (a lane whose list is shorter than the longest in its warp waits).
 *
 * The kernel's loop iterations are the CPU driver's, plus one wherever the kernel starts a stretch
 * one iteration later (it starts none while async scheduling holds frees; the CPU engine does when
 * the rank has nothing waiting), plus each configuration's last (which finds it done).
 *
 * With --gpu the sweep also runs on the GPU engine (any adapter), whose own count of loop
 * iterations checks the kernel iterations counted here.
 *
 *   npm run bench:gpu-layout -- [--configs 256] [--requests 50] [--sat-requests 5000] [--gpu]
 *     [--no-save] [--out-dir benches/results]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchScenario, machineInfo } from '../src/bench/harness.ts';
import { checkOutDir } from '../src/cli/benchCommand.ts';
import type { Scenario } from '../src/config/scenario.ts';
import { EngineCore } from '../src/engine/core/engineCore.ts';
import type { DecodeSet } from '../src/engine/core/decodeSet.ts';
import { simulate } from '../src/engine/cpu/simulate.ts';
import { planChunks, prepareConfig } from '../src/engine/gpu/prepare.ts';
import type { GpuConfig } from '../src/engine/gpu/types.ts';
import { LatencyHistograms, summarize } from '../src/metrics/summary.ts';
import { resolveStepModel } from '../src/model/presets.ts';
import { getWorkload } from '../src/workload/build.ts';
import { VERSION } from '../src/version.ts';
import { batchOf, parseTrace } from './gpuBenchShared.ts';

/** Word accesses by address pattern across a warp (see the header). */
interface Acc {
  uniform: number;
  request: number;
  data: number;
  stores: number;
  /** Dependent load levels, if independent chains do not overlap (a thread waits for each). */
  depth: number;
}
const acc = (uniform: number, request: number, data: number, stores: number, depth: number): Acc => ({ uniform, request, data, stores, depth });

/**
 * Per-visit and per-operation costs, counted from the code. The walk's visit of a decoding
 * request in a stepped step: scheduleRank (K_NRUN, runAt, K_FREE; R_COMPUTED, R_GENERATED,
 * R_BLOCKS, prompt; store R_SCHED) and finishStep (K_NRUN, runAt; R_SCHED, R_COMPUTED,
 * R_GENERATED, prompt, output; stores R_SCHED, R_COMPUTED, R_GENERATED). Depth 2 per pass: the
 * slot, then the request's fields.
 */
const COST = {
  /** The walk's scheduling pass per running request: K_NRUN, runAt, K_FREE; R_COMPUTED, R_GENERATED, R_BLOCKS, prompt; store R_SCHED. */
  schedPass: acc(3, 4, 0, 1, 2),
  /** finishStep's pass per running request: K_NRUN, runAt; R_SCHED, R_COMPUTED, R_GENERATED, prompt, output; stores R_SCHED, R_COMPUTED, R_GENERATED. */
  finishPass: acc(2, 5, 0, 3, 2),
  /** A stretch's three passes per running request: eventFreeSteps (runAt; output, R_GENERATED), (runAt; R_COMPUTED, R_BLOCKS), apply (runAt; R_COMPUTED, R_GENERATED, R_BLOCKS; three stores). */
  stretchPasses: acc(3, 7, 0, 3, 6),
  /** eventFreeSteps' first pass when no stretch follows (a decode-only step with a completion due): runAt; output, R_GENERATED. */
  probePass: acc(1, 2, 0, 0, 2),
  /** The walk's completion: removeRunningAt moves each later slot down one (one load, one store per slot). */
  shiftSlot: acc(1, 0, 0, 1, 1),
  /** Per fast-forwarded step and rank with work (both algorithms): K_FF_DECODE twice, K_FF_KV_MAX, K_FF_KV_READ, K_KV. */
  ffRankStep: acc(5, 0, 0, 0, 1),
  /**
   * Event core, a rank's aggregated step: holes, nD, adv, free blocks, sumC, hN, heap top,
   * backoff (uniform); the phase bucket at adv mod BS (data); the top's key output, generated,
   * advAt (request, behind the heap top); stores adv, sumC, free, backoff. Depth 2.
   */
  aggRankStep: acc(8, 3, 1, 4, 2),
  /** A completion popped: the last entry moved to the top (data) and its key (request). */
  pop: acc(0, 3, 1, 1, 2),
  /** One level of a sift-down: two children (data) and their keys (request, behind them); one store. */
  siftDownLevel: acc(0, 6, 2, 1, 2),
  /** A request joining the prefix (extend + add): list slot, hN; generated, output, computed, prompt; phase bucket; stores dpos, advAt, phase, sumC, heap. */
  join: acc(2, 4, 1, 5, 2),
  /** One level of a sift-up: the parent (data) and its key (request). */
  siftUpLevel: acc(0, 3, 1, 1, 2),
  /** A member written out by a fallback: slot; computed, generated, advAt; stores computed, generated, blocks, advAt, dpos. */
  materialise: acc(1, 3, 0, 5, 2),
  /** A slot of a hole compaction: slot; dpos; stores slot, dpos. */
  compactSlot: acc(1, 1, 0, 2, 2),
  /** Per rank and stretch: the heap top and its key (minLeft). */
  stretchRank: acc(2, 3, 0, 0, 2),
  /** Per member in growthBlocks or advance with few members: slot; computed, advAt. */
  stretchMember: acc(1, 2, 0, 0, 2),
  /** Per bucket in growthBlocks or advance with many members: bucket b (the same on every lane). */
  stretchBucket: acc(1, 0, 0, 0, 1),
};

interface Counts {
  configs: number;
  requests: number;
  groupSteps: number;
  rankSteps: number;
  iterations: number;
  idleJumps: number;
  stepped: number;
  stretches: number;
  ffSteps: number;
  /** Σ over iterations that schedule (stepped steps and stretch starts) of G. */
  scheduledRankSteps: number;
  /** Σ running requests over stepped steps (walked twice), and over stretch starts (walked once to schedule, three times in the stretch). */
  runSteppedSum: number;
  runStretchStartSum: number;
  /** Σ over fast-forwarded steps of the ranks with work in their stretch. */
  ffActiveRankSteps: number;
  /** Event core. */
  aggRankSteps: number;
  membersAggregated: number;
  nonMemberVisitsStepped: number;
  nonMemberVisitsStretchStart: number;
  fallbacks: number;
  materialised: number;
  pops: number;
  popLevels: number;
  heapSizeAtPop: number;
  pushes: number;
  pushLevels: number;
  joins: number;
  stretchRanks: number;
  stretchMemberLoops: number;
  stretchBucketLoops: number;
  /** Stretch passes over non-members (the event core walks them as the kernel does). */
  stretchNonMemberVisits: number;
  compactSlots: number;
  /** eventFreeSteps looked for a stretch and found none: running requests then (walk), the requests outside the prefix (event core). */
  probeRunSum: number;
  probeNonMemberSum: number;
  /** Running-list slots after each completed member (the kernel's removeRunningAt moves them). */
  shiftSlots: number;
  /** Stretches the kernel starts one iteration later (frees held at their first step), and the running requests then. */
  kernelSplits: number;
  runKernelSplitSum: number;
  maxRunning: number;
}

function zero(): Counts {
  return {
    configs: 0, requests: 0, groupSteps: 0, rankSteps: 0, iterations: 0, idleJumps: 0, stepped: 0, stretches: 0, ffSteps: 0,
    scheduledRankSteps: 0, runSteppedSum: 0, runStretchStartSum: 0, ffActiveRankSteps: 0,
    aggRankSteps: 0, membersAggregated: 0, nonMemberVisitsStepped: 0, nonMemberVisitsStretchStart: 0, fallbacks: 0, materialised: 0,
    pops: 0, popLevels: 0, heapSizeAtPop: 0, pushes: 0, pushLevels: 0, joins: 0, stretchRanks: 0, stretchMemberLoops: 0,
    stretchBucketLoops: 0, stretchNonMemberVisits: 0, compactSlots: 0, probeRunSum: 0, probeNonMemberSum: 0, shiftSlots: 0, kernelSplits: 0, runKernelSplitSum: 0, maxRunning: 0,
  };
}

const depth = (i: number) => Math.floor(Math.log2(i + 1));

/** The running lists of one loop iteration (compacted: the kernel's order), for the warp analysis. */
interface IterationLists {
  /** Per rank, the request ids of its running list in order. */
  ranks: Int32Array[];
}

/** Wrap the decode set's methods on this instance to count what they do. */
function instrument(ds: DecodeSet, c: Counts, aggOfRank: Int32Array, st: EngineCore['st']): void {
  const d = ds as unknown as Record<string, (...a: unknown[]) => unknown> & { heap: Int32Array; hN: Int32Array; B: number; BS: number; nD: Int32Array };
  const wrap = (name: string, around: (orig: (...a: unknown[]) => unknown, args: unknown[]) => unknown) => {
    const orig = d[name].bind(ds);
    d[name] = (...args: unknown[]) => around(orig, args);
  };
  const find = (off: number, n: number, r: number) => {
    for (let k = 0; k < n; k++) if (d.heap[off + k] === r) return k;
    throw new Error('heap entry not found');
  };
  wrap('step', (orig, args) => {
    const g = args[0] as number;
    aggOfRank[g] = d.nD[g];
    c.aggRankSteps++;
    c.membersAggregated += d.nD[g];
    return orig(...args);
  });
  wrap('siftDownMin', (orig, args) => {
    const [off, n, i] = args as number[];
    const r = d.heap[off + i];
    const out = orig(...args);
    c.pops++;
    c.heapSizeAtPop += n + 1;
    if (n > 0) c.popLevels += depth(find(off, n, r)) - depth(i);
    return out;
  });
  wrap('add', (orig, args) => {
    const g = args[1] as number;
    const r = args[2] as number;
    const before = d.hN[g];
    const out = orig(...args);
    c.pushes++;
    c.joins++;
    c.pushLevels += depth(before) - depth(find(g * d.B, d.hN[g], r));
    return out;
  });
  wrap('fallback', (orig, args) => {
    const g = args[1] as number;
    c.fallbacks++;
    c.materialised += d.nD[g];
    return orig(...args);
  });
  wrap('remove', (orig, args) => {
    const g = args[1] as number;
    const r = args[2] as number;
    const base = g * st.RS;
    const end = st.nRun[g] + st.holes[g];
    const dpos = (ds as unknown as { dpos: Int32Array }).dpos;
    for (let k = dpos[r] + 1; k < end; k++) if (st.run[base + k] >= 0) c.shiftSlots++;
    return orig(...args);
  });
  wrap('compact', (orig, args) => {
    const g = args[1] as number;
    if (st.holes[g] > 0) c.compactSlots += st.nRun[g] + st.holes[g];
    return orig(...args);
  });
  wrap('minLeft', (orig, args) => {
    c.stretchRanks++;
    return orig(...args);
  });
  const loops = (orig: (...a: unknown[]) => unknown, args: unknown[]) => {
    const g = args[1] as number;
    const span = d.nD[g] + st.holes[g];
    if (span < d.BS) c.stretchMemberLoops += span;
    else c.stretchBucketLoops += d.BS;
    return orig(...args);
  };
  wrap('growthBlocks', loops);
  wrap('advance', loops);
}

/** Simulate one configuration step by step, counting; optionally record each iteration's running lists. */
function countRun(sc: Scenario, c: Counts, record?: IterationLists[]): void {
  const model = resolveStepModel(sc.model);
  const wl = getWorkload(sc.workload);
  const hist = new LatencyHistograms();
  const core = new EngineCore(sc, model, {}, {
    capacityHint: wl.n,
    outputSurvival: wl.outputSurvival,
    histograms: hist,
    applyAtSchedule: true,
    eventCore: true,
    // The kernel ends a stretch at every completion and arrival: so does this run.
    stretchEvents: false,
  });
  if (core.independent || core.adp) throw new Error('gpu-layout counts barrier runs without ADP Balance only');
  const q = { promptTokens: 0, outputTokens: 0, arrivalUs: 0 };
  for (let i = 0; i < wl.n; i++) {
    q.promptTokens = wl.prompt[i];
    q.outputTokens = wl.output[i];
    q.arrivalUs = wl.arrivalUs[i];
    core.submit(q);
  }
  const st = core.st;
  const G = core.G;
  const aggOfRank = new Int32Array(G);
  instrument(core.ds!, c, aggOfRank, st);
  const runningNow = () => {
    let s = 0;
    for (let g = 0; g < G; g++) s += st.nRun[g];
    return s;
  };
  let now = wl.n > 0 ? wl.arrivalUs[0] : 0;
  while (!core.done()) {
    c.iterations++;
    aggOfRank.fill(0);
    const stepUs = core.beginStep(now);
    if (stepUs === 0) {
      c.idleJumps++;
      record?.push({ ranks: [] });
      if (core.done()) break;
      now = Math.max(now, core.nextArrivalUs());
      continue;
    }
    c.scheduledRankSteps += G;
    const running = runningNow();
    if (running > c.maxRunning) c.maxRunning = running;
    let nonMembers = 0;
    let active = 0;
    for (let g = 0; g < G; g++) {
      nonMembers += st.nRun[g] - aggOfRank[g];
      if (st.nRun[g] > 0) active++;
    }
    if (record) {
      const ranks: Int32Array[] = [];
      for (let g = 0; g < G; g++) {
        const ids: number[] = [];
        const base = g * st.RS;
        for (let i = 0; i < st.nRun[g] + st.holes[g]; i++) if (st.run[base + i] >= 0) ids.push(st.run[base + i]);
        ranks.push(Int32Array.from(ids));
      }
      record.push({ ranks });
    }
    let held = false;
    for (let g = 0; g < G; g++) if (st.pendSlots[g] > 0) held = true;
    const ffBefore = core.fastForwardedSteps;
    const probedBefore = c.stretchRanks;
    const t = core.fastForward(now);
    if (t >= 0) {
      c.stretches++;
      const j = core.fastForwardedSteps - ffBefore;
      c.ffSteps += j;
      c.ffActiveRankSteps += j * active;
      c.runStretchStartSum += running;
      c.nonMemberVisitsStretchStart += nonMembers;
      // eventFreeSteps' passes over the requests outside the prefix, and the apply pass.
      c.stretchNonMemberVisits += nonMembers;
      // The kernel starts no stretch while frees are held (async scheduling): it steps this one
      // step and starts the stretch at its next iteration.
      if (held) {
        c.kernelSplits++;
        c.runKernelSplitSum += running;
        // The kernel's lanes advance by its own iterations: one more with the same lists.
        if (record) record.push(record[record.length - 1]);
      }
      now = t;
      continue;
    }
    // A stretch looked for and not found: eventFreeSteps' first pass ran (minLeft stays counted).
    if (c.stretchRanks > probedBefore) {
      c.probeRunSum += running;
      c.probeNonMemberSum += nonMembers;
    }
    c.stepped++;
    c.runSteppedSum += running;
    c.nonMemberVisitsStepped += nonMembers;
    now += stepUs;
    core.endStep(now);
  }
  c.configs++;
  c.requests += wl.n;
  c.groupSteps += core.steps;
  c.rankSteps += core.steps * G;
  // The driver is the offline driver: the same metrics (wall time aside) and the same stretches.
  const mine = summarize(core.counters(), hist, 0) as unknown as Record<string, number>;
  const ref = simulate(sc, wl, model, { stretchEvents: false });
  const theirs = ref.metrics as unknown as Record<string, number>;
  const differs = Object.keys(theirs).filter((k) => k !== 'wall_ms' && !Object.is(mine[k], theirs[k]));
  if (differs.length > 0 || ref.fastForwardedSteps !== core.fastForwardedSteps) {
    throw new Error(`gpu-layout: the counting driver diverged from simulate() on configuration ${sc.index} (${differs.join(', ') || 'stretches'})`);
  }
}

interface Derived {
  loadsPerRankStep: { uniform: number; request: number; data: number; total: number };
  storesPerRankStep: number;
  depthPerRankStep: number;
  /** Dependent-load depth if every independent chain overlapped (only heap sifts stay serial). */
  criticalDepthPerRankStep: number;
}

function derive(c: Counts): { walk: Derived; event: Derived } {
  const tally = () => ({ uniform: 0, request: 0, data: 0, stores: 0, depth: 0, critical: 0 });
  const add = (t: ReturnType<typeof tally>, a: Acc, n: number) => {
    t.uniform += a.uniform * n;
    t.request += a.request * n;
    t.data += a.data * n;
    t.stores += a.stores * n;
    t.depth += a.depth * n;
  };
  // Critical depth: every independent chain overlapped — per loop iteration 2 levels per pass
  // over the ranks (slot, then fields): 4 for a stepped step (two passes), 2 + 6 for a stretch
  // start, 1 per fast-forwarded step; heap sifts stay serial (2 levels per sift level; on one
  // rank, which overstates them when several ranks pop in one step).
  const passes = 4 * c.stepped + 8 * c.stretches + c.ffSteps;
  const w = tally();
  add(w, COST.schedPass, c.runSteppedSum + c.runStretchStartSum);
  add(w, COST.finishPass, c.runSteppedSum);
  add(w, COST.stretchPasses, c.runStretchStartSum);
  add(w, COST.ffRankStep, c.ffActiveRankSteps);
  // Where the kernel steps once more before the stretch: a finishing pass and another scheduling pass.
  add(w, COST.finishPass, c.runKernelSplitSum);
  add(w, COST.schedPass, c.runKernelSplitSum);
  add(w, COST.probePass, c.probeRunSum);
  add(w, COST.shiftSlot, c.shiftSlots);
  w.critical = passes + 4 * c.kernelSplits;
  const e = tally();
  add(e, COST.schedPass, c.nonMemberVisitsStepped + c.nonMemberVisitsStretchStart);
  add(e, COST.finishPass, c.nonMemberVisitsStepped);
  add(e, COST.stretchPasses, c.stretchNonMemberVisits);
  add(e, COST.probePass, c.probeNonMemberSum);
  add(e, COST.ffRankStep, c.ffActiveRankSteps);
  add(e, COST.aggRankStep, c.aggRankSteps);
  add(e, COST.pop, c.pops);
  add(e, COST.siftDownLevel, c.popLevels);
  add(e, COST.join, c.joins);
  add(e, COST.siftUpLevel, c.pushLevels);
  add(e, COST.materialise, c.materialised);
  add(e, COST.compactSlot, c.compactSlots);
  add(e, COST.stretchRank, c.stretchRanks);
  add(e, COST.stretchMember, c.stretchMemberLoops);
  add(e, COST.stretchBucket, c.stretchBucketLoops);
  e.critical = passes + 2 * (c.pops + c.popLevels + c.pushLevels);
  const out = (t: ReturnType<typeof tally>): Derived => ({
    loadsPerRankStep: {
      uniform: t.uniform / c.rankSteps,
      request: t.request / c.rankSteps,
      data: t.data / c.rankSteps,
      total: (t.uniform + t.request + t.data) / c.rankSteps,
    },
    storesPerRankStep: t.stores / c.rankSteps,
    depthPerRankStep: t.depth / c.rankSteps,
    criticalDepthPerRankStep: t.critical / c.rankSteps,
  });
  return { walk: out(w), event: out(e) };
}

interface WarpStats {
  warps: number;
  /** Warp-level issues of the walk's request-indexed load (one per rank, slot and iteration). */
  issues: number;
  laneLoads: number;
  sectors: number;
  idealSectors: number;
  /** Lanes that waited in a walk issue (their list shorter than the warp's longest, or not scheduling at that iteration). */
  idleLanes: number;
  /** Issues in which every active lane read the same request id. */
  sameRequestIssues: number;
}

/** Lockstep warps of 32 configurations in chunk order: sectors of the walk's request-indexed loads. */
function warpStats(order: number[], lists: IterationLists[][], C: number): WarpStats {
  const s: WarpStats = { warps: 0, issues: 0, laneLoads: 0, sectors: 0, idealSectors: 0, idleLanes: 0, sameRequestIssues: 0 };
  for (let w0 = 0; w0 < order.length; w0 += 32) {
    const lanes = order.slice(w0, w0 + 32);
    s.warps++;
    const iters = Math.max(...lanes.map((l) => lists[l].length));
    for (let m = 0; m < iters; m++) {
      const maxG = Math.max(...lanes.map((l) => lists[l][m]?.ranks.length ?? 0));
      for (let g = 0; g < maxG; g++) {
        const maxLen = Math.max(...lanes.map((l) => lists[l][m]?.ranks[g]?.length ?? 0));
        for (let i = 0; i < maxLen; i++) {
          const sectors = new Set<number>();
          const ideal = new Set<number>();
          const ids = new Set<number>();
          let active = 0;
          lanes.forEach((l, lane) => {
            const list = lists[l][m]?.ranks[g];
            if (!list || i >= list.length) return;
            active++;
            const cIdx = w0 + lane; // the configuration's index in its chunk (warps are 32-aligned)
            const r = list[i];
            ids.add(r);
            sectors.add(Math.floor((r * C + cIdx) / 8));
            ideal.add(Math.floor(cIdx / 8));
          });
          s.issues++;
          s.laneLoads += active;
          s.sectors += sectors.size;
          s.idealSectors += ideal.size;
          s.idleLanes += 32 - active;
          if (ids.size === 1) s.sameRequestIssues++;
        }
      }
    }
  }
  return s;
}

function fail(msg: string): never {
  process.stderr.write(`bench:gpu-layout: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv: string[]) {
  const a = { configs: 256, requests: 50, satRequests: 5000, gpu: false, save: true, outDir: 'benches/results' };
  const int = (f: string, v: string | undefined) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 1) fail(`${f} must be a positive integer, got ${v}`);
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    const v = argv[i + 1];
    switch (f) {
      case '--configs': a.configs = int(f, v); i++; break;
      case '--requests': a.requests = int(f, v); i++; break;
      case '--sat-requests': a.satRequests = int(f, v); i++; break;
      case '--gpu': a.gpu = true; break;
      case '--no-save': a.save = false; break;
      case '--out-dir': if (!v) fail('--out-dir needs a directory'); a.outDir = v; i++; break;
      case '--': break;
      default: fail(`unknown option ${f}`);
    }
  }
  return a;
}

const f1 = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** Loop iterations the GPU engine reports for these configurations (its own counter, S_ITERATIONS). */
async function gpuIterations(scenarios: Scenario[]): Promise<number> {
  const { GpuEngine } = await import('../src/engine/gpu/gpuEngine.ts');
  let iterations = 0;
  const gpu = await GpuEngine.create({
    trace: true,
    log: (line) => {
      const t = parseTrace(line);
      if (t) iterations += t.iterations;
    },
  });
  try {
    await gpu.run(scenarios);
  } finally {
    await gpu.close();
  }
  return iterations;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.save) checkOutDir(a.outDir);
  const t0 = performance.now();
  const sets: { name: string; scenarios: Scenario[]; warps: boolean }[] = [
    { name: `bench:gpu sweep (${a.configs} configurations × ${a.requests} requests, DP 2-16, light load)`, scenarios: batchOf(a.configs, a.requests), warps: true },
  ];
  // DP 8 on the default preset (max_num_seqs 256) at the loads of bench:engine: light, 70% of capacity, saturation.
  for (const [label, rate] of [['light, 3 req/s', 3], ['70%, 37.8 req/s', 37.8], ['saturation, 60 req/s', 60]] as const) {
    sets.push({ name: `DP 8 jsq_load ${label}, ${a.satRequests} requests`, scenarios: [benchScenario({ router: 'jsq_load', dp: 8, rate, requests: a.satRequests, seed: 1 })], warps: false });
  }
  const rows: SetRow[] = [];
  for (const set of sets) {
    const c = zero();
    const lists: IterationLists[][] = [];
    for (const sc of set.scenarios) {
      const rec: IterationLists[] | undefined = set.warps ? [] : undefined;
      countRun(sc, c, rec);
      if (rec) lists.push(rec);
    }
    let warp: (WarpStats & { C: number }) | undefined;
    if (set.warps) {
      // The GPU engine's order: one chunk (a hardware adapter's budget), sorted as planChunks does.
      const prepared = set.scenarios.map((sc, pos) => prepareConfig(sc, pos)).filter((p): p is GpuConfig => !('reason' in p));
      if (prepared.length !== set.scenarios.length) fail('a configuration of the sweep cannot run on the GPU engine');
      const big = 2 ** 40;
      const { chunks } = planChunks(prepared, { maxBindingBytes: big, maxBufferBytes: big, maxChunkBytes: big, maxConfigs: 1 << 20 });
      const order = chunks.flatMap((ch) => ch.configs.map((cfg) => cfg.pos));
      warp = { ...warpStats(order, lists, order.length), C: order.length };
    }
    const d = derive(c);
    const gpuIters = a.gpu && set.warps ? await gpuIterations(set.scenarios) : undefined;
    rows.push({ name: set.name, counts: c, ...d, warp, gpuIterations: gpuIters });
    process.stderr.write(`counted ${set.name} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  const report = { bench: 'gpu-layout', version: VERSION, date: new Date().toISOString(), machine: machineInfo(), costs: COST, sets: rows };
  const md = markdown(report);
  process.stdout.write(md + '\n');
  if (a.save) {
    const stem = `${report.date.slice(0, 10)}-gpu-layout`;
    writeFileSync(join(a.outDir, `${stem}.json`), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(join(a.outDir, `${stem}.md`), md + '\n');
    process.stderr.write(`saved ${join(a.outDir, stem)}.{md,json}\n`);
  }
}

interface SetRow {
  name: string;
  counts: Counts;
  walk: Derived;
  event: Derived;
  warp?: WarpStats & { C: number };
  /** The GPU engine's own loop-iteration count for the set (--gpu), to check the kernel's iterations counted here. */
  gpuIterations?: number;
}

function markdown(r: { version: string; date: string; sets: SetRow[] }): string {
  const L: string[] = [
    `Memory accesses per rank-step, per-request walk (the WGSL kernel) against the event core's aggregates, balanceroute ${r.version}, ${r.date.slice(0, 10)}`,
    '',
    'Counted on the CPU engine\'s trajectories (identical for both algorithms); loads and stores per operation counted from the code (benches/gpu-layout.ts, COST). ' +
      '"uniform": same index on every lane of a warp (coalesced); "request": indexed by a request id from the list (coalesced only if the lanes hold the same request); "data": indexed by a per-lane computed value (heap child, phase bucket: scattered). ' +
      'Depth: dependent load levels if nothing overlaps; critical: if independent chains overlap perfectly (heap sifts stay serial).',
    '',
    '### Trajectories (counted)',
    '',
    '| set | configs | rank-steps | loop iterations (stepped / stretches / idle) | kernel loop iterations (counted here; the GPU engine\'s own count) | fast-forwarded steps | mean running per stepped rank-step | largest running total | aggregated rank-steps | members per aggregated rank-step | fallbacks | heap pops (levels per pop, mean heap) | heap pushes (levels per push) |',
    '|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const s of r.sets) {
    const c = s.counts;
    L.push(
      `| ${s.name} | ${c.configs} | ${c.rankSteps.toLocaleString('en-US')} | ${c.iterations.toLocaleString('en-US')} (${c.stepped.toLocaleString('en-US')} / ${c.stretches.toLocaleString('en-US')} / ${c.idleJumps.toLocaleString('en-US')}) | ` +
        `${(c.iterations + c.kernelSplits + c.configs).toLocaleString('en-US')}${s.gpuIterations !== undefined ? `; ${s.gpuIterations.toLocaleString('en-US')}` : ''} | ` +
        `${c.ffSteps.toLocaleString('en-US')} (${((100 * c.ffSteps) / c.groupSteps).toFixed(0)}%) | ${f1((c.runSteppedSum + c.runStretchStartSum) / c.scheduledRankSteps)} | ${c.maxRunning} | ` +
        `${c.aggRankSteps.toLocaleString('en-US')} | ${f1(c.membersAggregated / Math.max(1, c.aggRankSteps))} | ${c.fallbacks.toLocaleString('en-US')} | ` +
        `${c.pops.toLocaleString('en-US')} (${f1(c.popLevels / Math.max(1, c.pops))}, ${f1(c.heapSizeAtPop / Math.max(1, c.pops))}) | ${c.pushes.toLocaleString('en-US')} (${f1(c.pushLevels / Math.max(1, c.pushes))}) |`,
    );
  }
  L.push(
    '',
    '### Accesses per rank-step (all rank-steps, fast-forwarded ones included)',
    '',
    '| set | algorithm | loads | uniform | request | data | stores | depth | critical depth | sectors (estimate) | of the loads: fast-forwarded steps\' rank words |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  // 32-byte sectors per lane-load, from the warp measurement of the sweep: uniform and
  // request-indexed as measured for the walk, data-indexed loads one sector each (scattered).
  const w0 = r.sets.find((x) => x.warp)?.warp;
  const fu = w0 ? w0.idealSectors / w0.laneLoads : 1 / 8;
  const fr = w0 ? w0.sectors / w0.laneLoads : 1;
  for (const s of r.sets) {
    for (const [name, d] of [['walk (kernel)', s.walk], ['event core', s.event]] as const) {
      const l = d.loadsPerRankStep;
      const sectors = l.uniform * fu + l.request * fr + l.data;
      const ff = (COST.ffRankStep.uniform * s.counts.ffActiveRankSteps) / s.counts.rankSteps;
      L.push(`| ${s.name} | ${name} | ${f1(l.total)} | ${f1(l.uniform)} | ${f1(l.request)} | ${f1(l.data)} | ${f1(d.storesPerRankStep)} | ${f1(d.depthPerRankStep)} | ${f1(d.criticalDepthPerRankStep)} | ${f1(sectors)} | ${f1(ff)} |`);
    }
  }
  L.push(
    '',
    `Sectors (estimate): loads × 32-byte sectors per lane-load — uniform ${fu.toFixed(2)} and request-indexed ${fr.toFixed(2)} as measured for the walk below (also used for the heap's key loads and for the single-configuration sets), data-indexed 1.`,
  );
  const warps = r.sets.filter((s) => s.warp);
  if (warps.length) {
    L.push(
      '',
      '### The walk across a warp (measured on the trajectories: 32 configurations in chunk order, in lockstep by the kernel\'s loop iterations)',
      '',
      '| set | warps | walk issues | lanes active per issue | 32-byte sectors per request-indexed warp-load (coalesced / measured / scattered) | issues with one request id on every active lane |',
      '|---|---:|---:|---:|---|---:|',
    );
    for (const s of warps) {
      const w = s.warp!;
      L.push(
        `| ${s.name} | ${w.warps} | ${w.issues.toLocaleString('en-US')} | ${f1(w.laneLoads / w.issues)} of 32 | ${f1(w.idealSectors / w.issues)} / ${f1(w.sectors / w.issues)} / ${f1(w.laneLoads / w.issues)} | ${((100 * w.sameRequestIssues) / w.issues).toFixed(0)}% |`,
      );
    }
  }
  return L.join('\n');
}

await main();
