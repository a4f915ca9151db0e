/**
 * Prefill/decode disaggregation (scenario `topology: pd`; the contract is docs/pd.md). Composed
 * from two engine cores, run one after the other because the prefill side never waits for the
 * decode side (its KV blocks are freed when a prefill ends; docs/pd.md, "What does not couple"):
 *
 * 1. the **prefill pool**: P instances, each a rank stepping on its own clock (the core's
 *    `sync: independent` loop) with prefill-only work — every request asks for one token, so
 *    it leaves its instance at the end of the step that computes its last prompt token;
 * 2. the **decode group**: the scenario's DP+EP group (barrier, router, dispatch as configured),
 *    fed each request when its prefill ends, as a `prefilled` request with a KV transfer time:
 *    the router picks its rank when the transfer starts, and it joins that rank's waiting queue
 *    when the transfer ends.
 *
 * Latencies are anchored at the request's real arrival (before the prefill pool).
 */
import type { Scenario } from '../../config/scenario.ts';
import { Histogram } from '../../metrics/histogram.ts';
import { LatencyHistograms, summarize } from '../../metrics/summary.ts';
import type { RunMetrics, TimeSeries } from '../../metrics/types.ts';
import { kvTransferUs, resolveKvLink, type KvLink } from '../../model/kvLink.ts';
import { stepModelForDp } from '../../model/stepTime.ts';
import type { StepModel } from '../../model/types.ts';
import { InputError, InputProblem } from '../../errors.ts';
import { resolveRouterParams } from '../../routers/index.ts';
import type { Workload } from '../../workload/types.ts';
import type { PdTtftParts } from '../types.ts';
import { EngineCore, REQUEST_COMPLETED, REQUEST_FAILED, type RequestDetail } from '../core/engineCore.ts';
import { runBarrier, runIndependent } from '../cpu/simulate.ts';
import { makeDoubleFields } from '../../doubleFields.ts';

/** Why topology pd configurations run on the CPU engine (docs/pd.md, docs/gpu.md). */
export const PD_ON_CPU = 'topology pd (prefill/decode disaggregation) runs on the CPU engine';

/** The router that assigns requests to prefill instances (docs/pd.md, "Prefill pool"). */
export const PREFILL_ROUTER = 'jsq_load';

/** Prefill instances when the scenario does not say: half the decode group, rounded up. */
export function defaultPrefillInstances(dp: number): number {
  return Math.ceil(dp / 2);
}

/** What a pd run resolved: the prefill pool's size, the link and the KV bytes moved per token. */
export interface PdSetup {
  prefillInstances: number;
  link: KvLink;
  kvBytesPerToken: number;
}

export function resolvePdSetup(sc: Scenario, model: StepModel): PdSetup {
  const P = sc.prefillInstances ?? defaultPrefillInstances(sc.dp);
  if (!(Number.isInteger(P) && P >= 1)) throw new InputError('prefill_instances', P, 'must be an integer >= 1');
  const bytes = sc.kvBytesPerToken ?? model.kvBytesPerToken;
  if (bytes === undefined) {
    throw new InputProblem('kv_bytes_per_token', `model ${model.name} gives no kvMemory.kvBytesPerToken; give kv_bytes_per_token (--kv-bytes-per-token) for topology pd`);
  }
  return { prefillInstances: P, link: resolveKvLink(sc.kvLink, sc.kvLinkGbps, sc.kvLinkLatencyUs), kvBytesPerToken: bytes };
}

/**
 * The prefill instances' step model: the decode group's terms at its DP size G, with the rank's
 * share of the expert weights (baseExperts / G) folded into `base`, so that an instance streams
 * what one rank of the EP-G deployment streams whatever P is (docs/pd.md).
 */
export function prefillStepModel(model: StepModel, G: number): StepModel {
  const flat = stepModelForDp(model, G);
  return { ...flat, name: `${flat.name} (prefill)`, base: flat.base + Math.floor(flat.baseExperts / G), baseExperts: 0, byDp: undefined };
}

/** Per-request times of a pd run, µs (-1 where a request never got there). */
export interface PdDetail {
  /** Prefill instance (-1: rejected at arrival). */
  prefillInstance: Int32Array;
  /** Prefill queue entry (the instance's queued_us). */
  prefillQueuedUs: Float64Array;
  /** Start of the step that first computed its prompt (prefill admission). */
  prefillStartUs: Float64Array;
  /** End of the step that computed its last prompt token. */
  prefillEndUs: Float64Array;
  /** The decode router's decision: the transfer starts. */
  transferStartUs: Float64Array;
  /** The transfer ends: the request joins its decode rank's waiting queue. */
  transferEndUs: Float64Array;
  /** Admission on the decode rank (the start of the step that computes its last prompt token). */
  decodeAdmitUs: Float64Array;
}

export interface PdOutput {
  metrics: RunMetrics;
  fastForwardedSteps: number;
  /** The decode group's time series (scenario.timeseries). */
  timeseries?: TimeSeries;
  /**
   * Per-request outcomes, anchored as docs/pd.md says: queued / scheduled / admit are the prefill
   * instance's, first token and end the decode group's, rank the decode rank.
   */
  requests: RequestDetail;
  pd: PdDetail;
  setup: PdSetup;
  /** The mean TTFT of completed requests, part by part (docs/pd.md, "Time to first token"). */
  ttftParts: PdTtftParts;
}

const hist = new LatencyHistograms();
const prefillHist = new LatencyHistograms();
const decodeHist = new LatencyHistograms();

export function simulatePd(sc: Scenario, wl: Workload, model: StepModel, opts: { fastForward?: boolean; eventCore?: boolean } = {}): PdOutput {
  const t0 = performance.now();
  if (sc.sync === 'independent') throw new InputError('sync', sc.sync, 'topology pd runs its decode group with the barrier (sync: barrier)');
  if (sc.timeoutS > 0) throw new InputError('timeout_s', sc.timeoutS, 'client timeouts are not modelled with topology pd yet (use 0)');
  const setup = resolvePdSetup(sc, model);
  const G = sc.dp;
  const P = setup.prefillInstances;
  const n = wl.n;
  const fitLimit = Math.min(Math.floor(sc.kvCapacity / sc.blockSize) * sc.blockSize, sc.maxModelLen);

  // 1. Prefill pool. What can never be served is rejected at arrival (by the decode group,
  // below) and never prefilled.
  const prefillSc: Scenario = {
    ...sc,
    dp: P,
    sync: 'independent',
    dispatch: 'on_arrival',
    admission: 'none',
    router: PREFILL_ROUTER,
    routerParams: resolveRouterParams(PREFILL_ROUTER, {}),
    statsIntervalMs: 0,
    timeoutS: 0,
    timeseries: false,
  };
  const pre = new EngineCore(prefillSc, prefillStepModel(model, G), {}, { capacityHint: n, histograms: prefillHist });
  const preId = new Int32Array(n).fill(-1);
  const q = { promptTokens: 0, outputTokens: 1, arrivalUs: 0 };
  makeDoubleFields(q, ['arrivalUs']);
  for (let i = 0; i < n; i++) {
    if (wl.prompt[i] + wl.output[i] > fitLimit) continue;
    q.promptTokens = wl.prompt[i];
    q.arrivalUs = wl.arrivalUs[i];
    preId[i] = pre.submit(q);
  }
  let prefillBusyUs = 0;
  if (pre.st.n > 0) runIndependent(pre, pre.st.arrival[0], undefined, (_g, us) => (prefillBusyUs += us));
  const pd = pre.detail();

  // 2. Decode group: each request arrives when its prefill ends (a rejected one at its arrival).
  const at = new Float64Array(n);
  const xferUs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = preId[i];
    at[i] = p >= 0 ? pd.firstTokenUs[p] : wl.arrivalUs[i];
    xferUs[i] = kvTransferUs(wl.prompt[i], setup.kvBytesPerToken, setup.link);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => at[a] - at[b] || a - b);
  const dec = new EngineCore(sc, model, {}, {
    capacityHint: n,
    outputSurvival: wl.outputSurvival,
    timeseries: sc.timeseries,
    histograms: decodeHist,
    applyAtSchedule: true,
    // The decode group's steps as aggregates (docs/model.md §7.1); results identical either way.
    eventCore: opts.eventCore ?? true,
  });
  const decId = new Int32Array(n);
  const dq = { promptTokens: 0, outputTokens: 0, arrivalUs: 0, prefilled: true, transferUs: 0 };
  makeDoubleFields(dq, ['arrivalUs', 'transferUs']);
  for (const i of order) {
    dq.promptTokens = wl.prompt[i];
    dq.outputTokens = wl.output[i];
    dq.arrivalUs = at[i];
    dq.transferUs = xferUs[i];
    decId[i] = dec.submit(dq);
  }
  if (n > 0) runBarrier(dec, at[order[0]], opts.fastForward ?? true, undefined);
  const dd = dec.detail();

  // 3. Per request, in workload order, and the run's metrics from the real arrivals.
  const out: RequestDetail = {
    status: new Uint8Array(n),
    rank: new Int32Array(n),
    admitUs: new Float64Array(n).fill(-1),
    queuedUs: new Float64Array(n).fill(-1),
    scheduledUs: new Float64Array(n).fill(-1),
    firstTokenUs: new Float64Array(n),
    endUs: new Float64Array(n),
  };
  const det: PdDetail = {
    prefillInstance: new Int32Array(n).fill(-1),
    prefillQueuedUs: new Float64Array(n).fill(-1),
    prefillStartUs: new Float64Array(n).fill(-1),
    prefillEndUs: new Float64Array(n).fill(-1),
    transferStartUs: new Float64Array(n).fill(-1),
    transferEndUs: new Float64Array(n).fill(-1),
    decodeAdmitUs: new Float64Array(n).fill(-1),
  };
  hist.reset(model.frontend);
  const xferHist = new Histogram();
  let xferSum = 0;
  let xferN = 0;
  const parts = [0, 0, 0, 0, 0, 0];
  let doneN = 0;
  for (let i = 0; i < n; i++) {
    const d = decId[i];
    const p = preId[i];
    out.status[i] = dd.status[d];
    out.rank[i] = dd.rank[d];
    out.firstTokenUs[i] = dd.firstTokenUs[d];
    out.endUs[i] = dd.endUs[d];
    if (p >= 0) {
      out.admitUs[i] = pd.admitUs[p];
      out.queuedUs[i] = pd.queuedUs[p];
      out.scheduledUs[i] = pd.scheduledUs[p];
      det.prefillInstance[i] = pd.rank[p];
      det.prefillQueuedUs[i] = pd.queuedUs[p];
      det.prefillStartUs[i] = pd.admitUs[p];
      det.prefillEndUs[i] = pd.firstTokenUs[p];
    }
    const x = dec.transferOf(d);
    det.transferStartUs[i] = x.startUs;
    det.transferEndUs[i] = x.endUs;
    det.decodeAdmitUs[i] = dd.admitUs[d];
    if (x.startUs >= 0) {
      const us = x.endUs - x.startUs;
      xferHist.record(us);
      xferSum += us;
      xferN++;
    }
    if (dd.status[d] === REQUEST_COMPLETED) {
      doneN++;
      parts[0] += det.prefillStartUs[i] - wl.arrivalUs[i];
      parts[1] += det.prefillEndUs[i] - det.prefillStartUs[i];
      parts[2] += det.transferStartUs[i] - det.prefillEndUs[i];
      parts[3] += det.transferEndUs[i] - det.transferStartUs[i];
      parts[4] += det.decodeAdmitUs[i] - det.transferEndUs[i];
      parts[5] += out.firstTokenUs[i] - det.decodeAdmitUs[i];
      hist.recordCompleted(wl.arrivalUs[i], out.admitUs[i], out.firstTokenUs[i], out.endUs[i], wl.output[i], out.queuedUs[i], out.scheduledUs[i]);
    } else if (dd.status[d] !== REQUEST_FAILED) {
      throw new Error(`topology pd: request ${i} neither completed nor failed`);
    }
  }
  const c = dec.counters();
  const pc = pre.counters();
  c.preemptions += pc.preemptions;
  c.inSystemAreaUs += pc.inSystemAreaUs; // in the system from arrival through prefill, then in the decode group
  c.firstArrivalUs = n > 0 ? wl.arrivalUs[0] : 0;
  const metrics = summarize(c, hist, performance.now() - t0);
  const makespanUs = metrics.makespan_s * 1e6;
  metrics.prefill_util = prefillBusyUs / (P * makespanUs);
  metrics.decode_util = c.busyUs / makespanUs;
  metrics.kv_transfer_mean_ms = xferN > 0 ? xferSum / xferN / 1000 : NaN;
  metrics.kv_transfer_p95_ms = xferN > 0 ? xferHist.percentile(95) / 1000 : NaN;
  const ms = (k: number) => (doneN > 0 ? parts[k] / doneN / 1000 : NaN);
  const ttftParts: PdTtftParts = { prefillQueue: ms(0), prefill: ms(1), routerWait: ms(2), transfer: ms(3), decodeQueue: ms(4), firstDecodeStep: ms(5) };
  return { metrics, fastForwardedSteps: dec.fastForwardedSteps, timeseries: dec.timeseries(), requests: out, pd: det, setup, ttftParts };
}
