/**
 * `calibrate --from-run`: fit the step model's host terms (docs/model.md §5: hostPerStep,
 * hostPerRequest, dpSyncIntraNode, dpSyncInterNode) to measured runs, by replaying each run's
 * exact workload through the CPU engine (the one `run` uses) and matching its mean TPOT.
 * docs/calibration.md describes the protocol; in short:
 *
 * - Only terms the data determine are fitted. One load level determines one number, the
 *   per-step constant (bisection in whole µs on the simulated mean TPOT of the runs against the
 *   measured one). hostPerRequest needs two or more load levels (mean requests in flight at least
 *   LOAD_LEVEL_RATIO apart) whose per-step constants disagree; dpSync* needs runs at DP 1 and at
 *   DP >= 2 on the same host (the constant at DP G minus the constant at DP 1). A request for an
 *   undetermined term is refused with an InputError saying what data it needs.
 * - TPOT is the fitting target because it does not depend on the anchor (client or engine) or on
 *   the front end, and is dominated by decode steps; TTFT, E2E, queue wait and prefill service are
 *   then reported as residuals, each with the anchor the measurement uses, never fitted.
 *
 * Exports (used by the CLI and the fidelity suite):
 * - `fitHostTerms(runs, opts)`: the fit; `HostFit.model` is the base model file plus the fitted
 *   terms (with a `derivation` saying what was fitted on which runs), writable as a model file.
 * - `residualsFor(runs, termsPs)`: the per-component residuals of runs under given term values
 *   (prediction without fitting: the protocol's validation runs).
 * - `scenarioForRun(run, overrides)`: the deployment of a run, from overrides first, then from
 *   what the run records (DP size, limits, KV cache, async scheduling); never a guessed DP size
 *   or model.
 * - `FittedTerm`, `ComponentResidual`, `HostFit`, `RunToFit`, `HOST_TERMS`.
 */
import { readFileSync } from 'node:fs';
import { scenarioFromFlat } from '../config/expand.ts';
import type { Scenario } from '../config/scenario.ts';
import { simulate } from '../engine/cpu/simulate.ts';
import { InputError } from '../errors.ts';
import { listPresets, resolveStepModel } from '../model/presets.ts';
import { HOST_STEP_COEFFICIENTS, type StepModel } from '../model/types.ts';
import type { Workload } from '../workload/types.ts';
import type { PresetSpec } from '../model/analytic/presetSpec.ts';
import type { Anchor, MeasuredRun } from './measuredRun.ts';

export const HOST_TERMS = HOST_STEP_COEFFICIENTS;
export type HostTermName = (typeof HOST_TERMS)[number];

export interface FittedTerm {
  name: HostTermName;
  /** Value in integer picoseconds (the model file's unit). */
  valuePs: number;
  /** False: the base model's value, kept (not determined by the runs, or not asked for). */
  fitted: boolean;
  /** Paths of the runs the value was fitted on. */
  fittedOn: string[];
  /** Why it was or was not fitted. */
  note?: string;
}

export type Component = 'queue_wait' | 'prefill_service' | 'ttft' | 'tpot' | 'e2e';

export interface ComponentResidual {
  component: Component;
  /** Means over the requests completed in both, ms of model time. */
  measuredMs: number;
  predictedMs: number;
  /** (predicted - measured) / measured, in percent. */
  errorPct: number;
  /** The run's path. */
  run: string;
  /**
   * Where TTFT / E2E start, as the measurement does it (queue and prefill are engine-side);
   * 'arrival': a server's /metrics TTFT / E2E histograms, from the request's arrival at the
   * server (vLLM's front-end definitions), predicted without any front-end term.
   */
  anchor: Anchor | 'arrival';
  /** Requests averaged (for /metrics histogram means: the histogram's count). */
  n: number;
  /** TPOT over time: the window of arrivals, s from the first arrival (model time). */
  window?: [number, number];
  /** 'per-request' or 'metrics' (a /metrics histogram mean over the run). */
  from: 'per-request' | 'metrics';
}

export interface HostFit {
  /** The base model file plus the fitted terms, with `derivation`. */
  model: PresetSpec;
  terms: FittedTerm[];
  residuals: ComponentResidual[];
  notes: string[];
}

export interface RunToFit {
  run: MeasuredRun;
  /** The deployment (dp, model, router, limits); its workload is replaced by the run's. */
  scenario: Scenario;
  /** Model µs per measured µs (emulate --speed); default run.speed, else 1. */
  speed?: number;
}

export interface FitOptions {
  /** Terms to fit; default: every term the runs determine. */
  terms?: HostTermName[];
  /** GPUs per node for dpSync (scenario ranks_per_node when it has one); default 8. */
  ranksPerNode?: number;
  /** The model file to extend; default: the first run's scenario.model (preset or file). */
  base?: PresetSpec;
  /** Name of the written model; default `<base>-host`. */
  name?: string;
}

/** Two runs are at different load levels when their mean requests in flight differ by this factor. */
export const LOAD_LEVEL_RATIO = 1.25;
/** Per-run constants that differ by more than this (relative, and 2 µs) disagree. */
export const DISAGREE_REL = 0.05;
/** Largest per-step host time searched, µs (10 s). */
const MAX_HOST_US = 10_000_000;

// ---- the deployment of a run ----

/** What the caller knows about a run's deployment; unset fields come from the run's records. */
export interface DeploymentOverrides {
  /** The step model (preset or file); default: the one the run records (an emulator's). */
  model?: string;
  dp?: number;
  maxNumSeqs?: number;
  maxBatchedTokens?: number;
  /** KV capacity per rank, tokens; default: recorded num_gpu_blocks x block_size. */
  kvCapacity?: number;
  router?: string;
  asyncScheduling?: string;
  ranksPerNode?: number;
}

/** The scenario of one run (its workload is replaced by the run's when replayed). */
export function scenarioForRun(run: MeasuredRun, o: DeploymentOverrides = {}, index = 0): Scenario {
  const model = o.model ?? run.stepModel;
  if (model === undefined) {
    throw new InputError('model', undefined, `${run.path} does not record a step model${run.modelName ? ` (it served ${run.modelName})` : ''}; pass --model PRESET|model.json, the base model to add the host terms to`, { hasValue: false });
  }
  const g = o.dp ?? run.dp;
  if (g === undefined) throw new InputError('dp', undefined, `${run.path} does not record the DP size; pass --dp N`, { hasValue: false });
  if (run.dp !== undefined && o.dp !== undefined && run.dp !== o.dp) throw new InputError('dp', o.dp, `${run.path} records DP ${run.dp}`);
  const entry: Record<string, unknown> = { model, dp: g };
  const maxNumSeqs = o.maxNumSeqs ?? run.maxNumSeqs;
  if (maxNumSeqs !== undefined) entry.max_num_seqs = maxNumSeqs;
  const mbt = o.maxBatchedTokens ?? run.maxBatchedTokens;
  if (mbt !== undefined) entry.max_batched_tokens = mbt;
  if (run.blockSize !== undefined) entry.block_size = run.blockSize;
  const kv = o.kvCapacity ?? (run.kvBlocks !== undefined && run.blockSize !== undefined ? run.kvBlocks * run.blockSize : undefined);
  if (kv !== undefined) entry.kv_capacity = kv;
  if (run.maxModelLen !== undefined) entry.max_model_len = run.maxModelLen;
  if (o.router !== undefined) entry.router = o.router;
  if (o.asyncScheduling !== undefined) entry.async_scheduling = o.asyncScheduling;
  else if (run.asyncScheduling !== undefined) entry.async_scheduling = run.asyncScheduling ? 'on' : 'off';
  if (o.ranksPerNode !== undefined) entry.ranks_per_node = o.ranksPerNode;
  try {
    return scenarioFromFlat(entry, index);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(e.field, e.value, `${e.reason} (the deployment of ${run.path})`, { hasValue: e.hasValue });
    throw e;
  }
}

// ---- replay ----

/** The run's workload on the model clock (µs × speed, first arrival at 0). */
export function workloadOf(run: MeasuredRun, speed: number): Workload {
  const n = run.arrivalUs.length;
  const arrivalUs = new Float64Array(n);
  const t0 = run.arrivalUs[0];
  let last = 0;
  for (let i = 0; i < n; i++) {
    last = Math.max(last, Math.round((run.arrivalUs[i] - t0) * speed));
    arrivalUs[i] = last;
  }
  let maxO = 1;
  for (let i = 0; i < n; i++) maxO = Math.max(maxO, run.output[i]);
  const count = new Float64Array(maxO + 2);
  for (let i = 0; i < n; i++) count[run.output[i]]++;
  const survival = new Float64Array(maxO + 1);
  let above = n;
  for (let a = 0; a <= maxO; a++) {
    above -= count[a];
    survival[a] = above / n;
  }
  survival[0] = 1;
  return { n, arrivalUs, prompt: run.prompt.slice(), output: run.output.slice(), outputSurvival: survival, label: run.path };
}

type TermValues = Partial<Record<HostTermName, number>>;

/** The model with host terms set (µs → ps), also in every byDp entry so that none overrides them. */
function withTerms(m: StepModel, values: TermValues): StepModel {
  const set: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) if (v !== undefined) set[k] = v;
  let byDp = m.byDp;
  if (byDp) {
    const copy = new Map<number, NonNullable<StepModel['byDp']> extends ReadonlyMap<number, infer T> ? T : never>();
    for (const [g, t] of byDp) {
      const c = { ...t.coefficients } as Record<string, number>;
      for (const k of Object.keys(set)) delete c[k];
      copy.set(g, { ...t, coefficients: c });
    }
    byDp = copy;
  }
  return { ...m, ...set, byDp } as StepModel;
}

/** The base model's value of a host term. */
function baseTerm(m: StepModel, name: HostTermName): number {
  return m[name];
}

interface Prepared {
  entry: RunToFit;
  run: MeasuredRun;
  speed: number;
  model: StepModel;
  scenario: Scenario;
  workload: Workload;
  /** Measured means, model-time ms. */
  meas: Measured;
  /** Mean requests in flight (Little's law on the measured latencies). */
  load: number;
  frontend: Frontend;
}

interface Frontend {
  ingressUs: number;
  egressUs: number;
  perTokenUs: number;
}

interface Measured {
  tpotMs: number;
  tpotN: number;
}

function frontendOf(m: StepModel): Frontend {
  const f = m.frontend;
  return { ingressUs: f?.ingressUs ?? 0, egressUs: f?.egressUs ?? 0, perTokenUs: f?.perTokenUs ?? 0 };
}

function measuredTpot(run: MeasuredRun, speed: number): Measured {
  let s = 0;
  let n = 0;
  for (let i = 0; i < run.ok.length; i++) {
    if (!run.ok[i] || run.output[i] < 2 || run.ttftUs[i] < 0 || run.e2eUs[i] < 0) continue;
    s += ((run.e2eUs[i] - run.ttftUs[i]) * speed) / 1000 / (run.output[i] - 1);
    n++;
  }
  return { tpotMs: n ? s / n : NaN, tpotN: n };
}

function loadOf(run: MeasuredRun): number {
  let area = 0;
  let end = 0;
  for (let i = 0; i < run.ok.length; i++) {
    if (!run.ok[i] || run.e2eUs[i] < 0) continue;
    area += run.e2eUs[i];
    end = Math.max(end, run.arrivalUs[i] + run.e2eUs[i]);
  }
  return end > 0 ? area / end : 0;
}

/** The base spec of a scenario's model: a preset's, or the model file's JSON. */
export function baseSpecOf(model: string): PresetSpec {
  const preset = listPresets().find((p) => p.name === model);
  if (preset) return structuredClone(preset);
  resolveStepModel(model); // a readable, valid model file, or its one-line error
  return JSON.parse(readFileSync(model, 'utf8')) as PresetSpec;
}

function prepare(runs: readonly RunToFit[]): Prepared[] {
  return runs.map((e, k) => {
    const run = e.run;
    const sc = e.scenario;
    if (run.dp !== undefined && run.dp !== sc.dp) {
      throw new InputError(`from_run[${k}].dp`, sc.dp, `the scenario's DP size differs from the one ${run.path} records (${run.dp})`);
    }
    const speed = e.speed ?? run.speed ?? 1;
    if (!(speed > 0)) throw new InputError(`from_run[${k}].speed`, speed, 'must be > 0');
    const meas = measuredTpot(run, speed);
    if (meas.tpotN === 0) throw new InputError(`from_run[${k}]`, run.path, 'has no completed request with 2 or more output tokens: TPOT, the fitting target, is not measured');
    const model = resolveStepModel(sc.model);
    return {
      entry: e,
      run,
      speed,
      model,
      scenario: { ...sc, timeseries: false, goodput: undefined },
      workload: workloadOf(run, speed),
      meas,
      load: loadOf(run),
      frontend: frontendOf(model),
    };
  });
}

/** Per-request predictions of one replay, model-time µs (-1 where not reached). */
interface Predicted {
  ok: Uint8Array;
  arrivalUs: Float64Array;
  firstUs: Float64Array;
  endUs: Float64Array;
  queuedUs: Float64Array;
  scheduledUs: Float64Array;
}

function replay(p: Prepared, values: TermValues): Predicted {
  const out = simulate(p.scenario, p.workload, withTerms(p.model, values), { detail: true });
  const d = out.requests!;
  const ok = new Uint8Array(d.status.length);
  for (let i = 0; i < ok.length; i++) ok[i] = d.status[i] === 4 ? 1 : 0;
  return { ok, arrivalUs: p.workload.arrivalUs, firstUs: d.firstTokenUs, endUs: d.endUs, queuedUs: d.queuedUs, scheduledUs: d.scheduledUs };
}

/**
 * One request's predicted TPOT, µs: (E2E - TTFT) / (o - 1) on the run's anchor; client-side it
 * carries the model's front-end terms (perTokenUs between tokens, egressUs after the last).
 */
function predTpotUs(p: Prepared, r: Predicted, i: number): number {
  const o = p.workload.output[i];
  const fe = p.run.anchor === 'client' ? p.frontend.egressUs + p.frontend.perTokenUs * (o - 1) : 0;
  return (r.endUs[i] - r.firstUs[i] + fe) / (o - 1);
}

/** Mean predicted TPOT (ms) over the requests completed in both the run and the replay. */
function predictedTpot(p: Prepared, r: Predicted): number {
  let s = 0;
  let n = 0;
  const o = p.workload.output;
  for (let i = 0; i < r.ok.length; i++) {
    if (!r.ok[i] || !p.run.ok[i] || o[i] < 2 || p.run.ttftUs[i] < 0 || p.run.e2eUs[i] < 0) continue;
    s += predTpotUs(p, r, i) / 1000;
    n++;
  }
  return n ? s / n : NaN;
}

/** Σ relative TPOT error of the runs under the term values. */
function tpotError(ps: readonly Prepared[], values: TermValues): number {
  let e = 0;
  for (const p of ps) e += (predictedTpot(p, replay(p, values)) - p.meas.tpotMs) / p.meas.tpotMs;
  return e;
}

/**
 * Bisection over whole µs of one term (in ps = µs × 10^6) so that the runs' summed relative TPOT
 * error crosses zero; the error grows with every host term. Returns ps and whether it clamped.
 */
function bisect(ps: readonly Prepared[], fixed: TermValues, term: HostTermName, maxUs = MAX_HOST_US, unitPs = 1_000_000): { valuePs: number; clamped: 'low' | 'high' | null } {
  const at = (units: number) => tpotError(ps, { ...fixed, [term]: units * unitPs });
  let lo = 0;
  const e0 = at(0);
  if (e0 >= 0) return { valuePs: 0, clamped: e0 > 0 ? 'low' : null };
  // Bracket: start at the measured TPOT (a per-step term cannot exceed a whole step).
  let hi = Math.max(1, Math.ceil(Math.max(...ps.map((p) => p.meas.tpotMs)) * 1000 * (1_000_000 / unitPs)));
  let eHi = at(hi);
  while (eHi < 0 && hi < maxUs) {
    lo = hi;
    hi = Math.min(maxUs, hi * 2);
    eHi = at(hi);
  }
  if (eHi < 0) return { valuePs: hi * unitPs, clamped: 'high' };
  let eLo = at(lo);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const e = at(mid);
    if (e < 0) {
      lo = mid;
      eLo = e;
    } else {
      hi = mid;
      eHi = e;
    }
  }
  return { valuePs: (Math.abs(eLo) <= Math.abs(eHi) ? lo : hi) * unitPs, clamped: null };
}

/** Groups of runs at distinct load levels (sorted by load; neighbours within the ratio join). */
function loadLevels(ps: readonly Prepared[]): Prepared[][] {
  const sorted = [...ps].sort((a, b) => a.load - b.load);
  const levels: Prepared[][] = [];
  for (const p of sorted) {
    const cur = levels[levels.length - 1];
    if (cur && p.load < cur[0].load * LOAD_LEVEL_RATIO) cur.push(p);
    else levels.push([p]);
  }
  return levels;
}

const names = (ps: readonly Prepared[]) => ps.map((p) => p.run.path);
const fmtUs = (ps: number) => `${(ps / 1e6).toFixed(0)} µs`;

/**
 * Fit hostPerStep (and hostPerRequest when asked for or determined) on one set of runs at one DP
 * class. Returns term values (ps) and notes.
 */
function fitStepAndRequest(ps: readonly Prepared[], fixed: TermValues, wantRequest: boolean | 'auto', notes: string[]): { step: number; request: number | undefined; requestNote?: string } {
  const levels = loadLevels(ps);
  if (wantRequest === true && levels.length < 2) {
    throw new InputError('fit', 'hostPerRequest', `needs runs at two or more load levels (mean requests in flight ${LOAD_LEVEL_RATIO}x apart); ${ps.length === 1 ? 'one run' : 'these runs'} give${ps.length === 1 ? 's' : ''} one level (${ps.map((p) => p.load.toFixed(1)).join(', ')} in flight)`);
  }
  const one = bisect(ps, fixed, 'hostPerStep');
  if (one.clamped === 'low') notes.push(`the base model is slower than the measured TPOT even with hostPerStep = 0 (${names(ps).join(', ')}): hostPerStep = 0; the step model overestimates this host`);
  if (one.clamped === 'high') notes.push(`hostPerStep hit the search limit (${MAX_HOST_US / 1000} ms)`);
  if (levels.length < 2 || wantRequest === false) return { step: one.valuePs, request: undefined };
  // Per-level constants: do they disagree?
  const perLevel = levels.map((l) => bisect(l, fixed, 'hostPerStep').valuePs);
  const lo = Math.min(...perLevel);
  const hi = Math.max(...perLevel);
  const disagree = hi - lo > Math.max(2e6, DISAGREE_REL * hi);
  const levelText = levels.map((l, i) => `${fmtUs(perLevel[i])} at ${l[0].load.toFixed(1)} in flight`).join(', ');
  if (!disagree && wantRequest === 'auto') {
    return { step: one.valuePs, request: undefined, requestNote: `not fitted: the load levels agree on the per-step constant (${levelText})` };
  }
  // Two terms: outer golden-section search on hostPerRequest (whole ns... in 0.1 µs units),
  // inner bisection of hostPerStep over all runs; minimise the squared per-level errors.
  const levelError = (step: number, req: number) =>
    levels.reduce((a, l) => {
      const e = tpotError(l, { ...fixed, hostPerStep: step, hostPerRequest: req }) / l.length;
      return a + e * e;
    }, 0);
  const inner = (req: number) => bisect(ps, { ...fixed, hostPerRequest: req }, 'hostPerStep').valuePs;
  // Bracket of the per-request term: the spread of the per-level constants over the spread of
  // load, times 4 (R_max per step is at most the requests in flight on the busiest rank).
  const loads = levels.map((l) => l[0].load);
  const spanLoad = Math.max(1e-9, Math.max(...loads) - Math.min(...loads));
  const unit = 100_000; // 0.1 µs in ps
  let a = 0;
  let b = Math.max(10, Math.ceil((4 * Math.max(hi - lo, 1e6)) / spanLoad / unit));
  const f = (x: number) => levelError(inner(x * unit), x * unit);
  const g = (Math.sqrt(5) - 1) / 2;
  let c = Math.round(b - g * (b - a));
  let d = Math.round(a + g * (b - a));
  let fc = f(c);
  let fd = f(d);
  while (b - a > 2) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = Math.round(b - g * (b - a));
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = Math.round(a + g * (b - a));
      fd = f(d);
    }
  }
  let best = a;
  let fBest = f(a);
  for (let x = a + 1; x <= b; x++) {
    const fx = f(x);
    if (fx < fBest) {
      best = x;
      fBest = fx;
    }
  }
  const req = best * unit;
  if (req === 0) notes.push(`hostPerRequest fitted to 0: the higher load level needs no more host time per request (${levelText})`);
  return { step: inner(req), request: req, requestNote: `per-level constants ${levelText}` };
}

/** Fit the host terms the runs determine (or those asked for, refusing the undetermined). */
export async function fitHostTerms(runs: readonly RunToFit[], opts: FitOptions = {}): Promise<HostFit> {
  if (runs.length === 0) throw new InputError('from_run', undefined, 'give at least one measured run');
  const ps = prepare(runs);
  const rpn = opts.ranksPerNode ?? ps[0].scenario.ranksPerNode;
  const notes: string[] = [];
  const want = new Set<HostTermName>(opts.terms ?? []);
  const explicit = opts.terms !== undefined;
  for (const t of want) if (!(HOST_TERMS as readonly string[]).includes(t)) throw new InputError('fit', t, `unknown term; known: ${HOST_TERMS.join(', ')}`);
  const dp1 = ps.filter((p) => p.scenario.dp === 1);
  const intra = ps.filter((p) => p.scenario.dp >= 2 && p.scenario.dp <= rpn);
  const inter = ps.filter((p) => p.scenario.dp > rpn);
  // Refusals first: a term the data cannot determine.
  for (const [term, set, what] of [
    ['dpSyncIntraNode', intra, `runs at DP 2..${rpn} (one node)`],
    ['dpSyncInterNode', inter, `runs at DP > ${rpn} (several nodes)`],
  ] as const) {
    if (want.has(term) && (dp1.length === 0 || set.length === 0)) {
      throw new InputError('fit', term, `needs runs at DP 1 and ${what} on the same host; got DP ${[...new Set(ps.map((p) => p.scenario.dp))].join(', ')}`);
    }
  }
  if (explicit && want.has('hostPerRequest') && !want.has('hostPerStep')) {
    throw new InputError('fit', 'hostPerRequest', 'is fitted together with hostPerStep (the per-request term is the load dependence of the per-step constant); add hostPerStep');
  }
  const fitStep = explicit ? want.has('hostPerStep') : true;
  const fitRequest: boolean | 'auto' = explicit ? want.has('hostPerRequest') : 'auto';
  const fitIntra = explicit ? want.has('dpSyncIntraNode') : dp1.length > 0 && intra.length > 0;
  const fitInter = explicit ? want.has('dpSyncInterNode') : dp1.length > 0 && inter.length > 0;

  const base: TermValues = Object.fromEntries(HOST_TERMS.map((t) => [t, baseTerm(ps[0].model, t)]));
  const values: TermValues = { ...base };
  const terms = new Map<HostTermName, FittedTerm>(HOST_TERMS.map((t) => [t, { name: t, valuePs: base[t]!, fitted: false, fittedOn: [] }]));
  // The per-step constant (and per-request term) come from the DP 1 runs when there are any and
  // a dpSync term is fitted; else from all runs, and then hostPerStep includes any DP sync.
  const stepRuns = (fitIntra || fitInter) && dp1.length > 0 ? dp1 : ps;
  if (fitStep) {
    const r = fitStepAndRequest(stepRuns, { ...values, dpSyncIntraNode: fitIntra ? 0 : values.dpSyncIntraNode, dpSyncInterNode: fitInter ? 0 : values.dpSyncInterNode }, fitRequest, notes);
    values.hostPerStep = r.step;
    terms.set('hostPerStep', { name: 'hostPerStep', valuePs: r.step, fitted: true, fittedOn: names(stepRuns), note: `bisection on mean TPOT over ${stepRuns.length} run${stepRuns.length > 1 ? 's' : ''}` });
    if (r.request !== undefined) {
      values.hostPerRequest = r.request;
      terms.set('hostPerRequest', { name: 'hostPerRequest', valuePs: r.request, fitted: true, fittedOn: names(stepRuns), note: r.requestNote });
    } else {
      terms.get('hostPerRequest')!.note = r.requestNote ?? 'not determined: one load level';
    }
    if (!(fitIntra || fitInter) && r.step > 0 && stepRuns.some((p) => p.scenario.dp >= 2)) {
      notes.push(`hostPerStep was fitted on runs at DP ${[...new Set(stepRuns.map((p) => p.scenario.dp))].join(', ')} without a DP 1 run: it includes the DP synchronisation`);
    }
  }
  for (const [term, set, on] of [
    ['dpSyncIntraNode', intra, fitIntra],
    ['dpSyncInterNode', inter, fitInter],
  ] as const) {
    if (!on) {
      terms.get(term)!.note = set.length === 0 ? 'not determined: no run at that DP size' : 'not determined: no DP 1 run on the same host';
      continue;
    }
    const r = bisect(set, values, term);
    if (r.clamped === 'low') notes.push(`${term}: the DP ${set[0].scenario.dp} runs need no more host time per step than the DP 1 runs: 0`);
    values[term] = r.valuePs;
    terms.set(term, { name: term, valuePs: r.valuePs, fitted: true, fittedOn: names(set), note: `bisection on mean TPOT with hostPerStep${values.hostPerRequest ? ' and hostPerRequest' : ''} fixed` });
  }
  if (!explicit) {
    for (const t of terms.values()) if (!t.fitted && t.note === undefined) t.note = 'kept from the base model';
  } else {
    for (const t of terms.values()) if (!t.fitted) t.note = 'not asked for: kept from the base model';
  }
  const residuals = residualsOf(ps, values);
  const termList = HOST_TERMS.map((t) => terms.get(t)!);
  const model = modelWithTerms(opts.base ?? baseSpecOf(ps[0].scenario.model), termList, ps, opts.name, notes);
  return { model, terms: termList, residuals, notes: [...notes, ...ps.flatMap((p) => p.run.notes.map((n) => `${p.run.path}: ${n}`))] };
}

/** Per-component residuals of runs under given host-term values (ps); nothing is fitted. */
export function residualsFor(runs: readonly RunToFit[], termsPs: Partial<Record<HostTermName, number>> = {}): ComponentResidual[] {
  const ps = prepare(runs);
  const values: TermValues = Object.fromEntries(HOST_TERMS.map((t) => [t, termsPs[t] ?? baseTerm(ps[0].model, t)]));
  return residualsOf(ps, values);
}

/** Quarters of the run by arrival for "TPOT over time". */
const TPOT_WINDOWS = 4;

function residualsOf(ps: readonly Prepared[], values: TermValues): ComponentResidual[] {
  const out: ComponentResidual[] = [];
  for (const p of ps) {
    const r = replay(p, values);
    const run = p.run;
    const anchor = run.anchor;
    const n = r.ok.length;
    const fe = p.frontend;
    const both = (i: number) => r.ok[i] === 1 && run.ok[i] === 1 && run.ttftUs[i] >= 0 && run.e2eUs[i] >= 0;
    // Engine anchor: from queued (the first boundary at or after arrival); client: from arrival
    // plus the front end's ingress (SPEC: the workload's arrival is the engine's).
    const start = (i: number) => (anchor === 'engine' ? r.queuedUs[i] : r.arrivalUs[i] - fe.ingressUs);
    const predTtft = (i: number) => r.firstUs[i] - start(i) + (anchor === 'client' ? fe.perTokenUs : 0);
    const predE2e = (i: number) => r.endUs[i] - start(i) + (anchor === 'client' ? fe.egressUs + fe.perTokenUs * p.workload.output[i] : 0);
    const add = (component: Component, meas: number[], pred: number[], from: ComponentResidual['from'] = 'per-request', window?: [number, number], nOverride?: number) => {
      if (meas.length === 0) return;
      const m = meas.reduce((a, b) => a + b, 0) / meas.length;
      const q = pred.reduce((a, b) => a + b, 0) / pred.length;
      const at = component === 'queue_wait' || component === 'prefill_service' ? 'engine' : from === 'metrics' ? 'arrival' : anchor;
      out.push({ component, measuredMs: m, predictedMs: q, errorPct: m !== 0 ? ((q - m) / m) * 100 : NaN, run: run.path, anchor: at, n: nOverride ?? meas.length, window, from });
    };
    const s = p.speed;
    const mq: number[] = [], pq: number[] = [], mp: number[] = [], pp: number[] = [];
    const mt: number[] = [], pt: number[] = [], me: number[] = [], pe: number[] = [];
    const tpotM: number[] = [], tpotP: number[] = [], tpotAt: number[] = [];
    for (let i = 0; i < n; i++) {
      if (!both(i)) continue;
      mt.push((run.ttftUs[i] * s) / 1000);
      pt.push(predTtft(i) / 1000);
      me.push((run.e2eUs[i] * s) / 1000);
      pe.push(predE2e(i) / 1000);
      const o = p.workload.output[i];
      if (o > 1) {
        tpotM.push(((run.e2eUs[i] - run.ttftUs[i]) * s) / 1000 / (o - 1));
        tpotP.push(predTpotUs(p, r, i) / 1000);
        tpotAt.push(r.arrivalUs[i]);
      }
      if (run.queueUs && run.prefillUs && run.queueUs[i] >= 0 && run.prefillUs[i] >= 0) {
        mq.push((run.queueUs[i] * s) / 1000);
        pq.push((r.scheduledUs[i] - r.queuedUs[i]) / 1000);
        mp.push((run.prefillUs[i] * s) / 1000);
        pp.push((r.firstUs[i] - r.scheduledUs[i]) / 1000);
      }
    }
    add('queue_wait', mq, pq);
    add('prefill_service', mp, pp);
    // A loadgen log's /metrics histogram means (engine clock, over every request the server finished).
    const sm = run.serverMeans;
    if (mq.length === 0 && sm) {
      const all = [...Array(n).keys()].filter((i) => r.ok[i] === 1);
      if (sm.queueMs !== undefined) add('queue_wait', [sm.queueMs], [mean(all.map((i) => (r.scheduledUs[i] - r.queuedUs[i]) / 1000))], 'metrics', undefined, sm.count);
      if (sm.prefillMs !== undefined) add('prefill_service', [sm.prefillMs], [mean(all.map((i) => (r.firstUs[i] - r.scheduledUs[i]) / 1000))], 'metrics', undefined, sm.count);
    }
    add('ttft', mt, pt);
    // The server's own TTFT / E2E (from its arrival, no HTTP): beside the client's, they split
    // the client-side residual into front end and engine.
    const served = sm && run.anchor === 'client' ? [...Array(n).keys()].filter((i) => r.ok[i] === 1) : [];
    if (sm?.ttftMs !== undefined && served.length) add('ttft', [sm.ttftMs], [mean(served.map((i) => (r.firstUs[i] - r.arrivalUs[i]) / 1000))], 'metrics', undefined, sm.count);
    add('tpot', tpotM, tpotP);
    if (tpotAt.length >= TPOT_WINDOWS * 4) {
      const t0 = tpotAt[0];
      const span = tpotAt[tpotAt.length - 1] - t0;
      for (let w = 0; w < TPOT_WINDOWS; w++) {
        const a = t0 + (span * w) / TPOT_WINDOWS;
        const b = t0 + (span * (w + 1)) / TPOT_WINDOWS;
        const idx = tpotAt.map((t, k) => (t >= a && (t < b || (w === TPOT_WINDOWS - 1 && t <= b)) ? k : -1)).filter((k) => k >= 0);
        add('tpot', idx.map((k) => tpotM[k]), idx.map((k) => tpotP[k]), 'per-request', [a / 1e6, b / 1e6]);
      }
    }
    add('e2e', me, pe);
    if (sm?.e2eMs !== undefined && served.length) add('e2e', [sm.e2eMs], [mean(served.map((i) => (r.endUs[i] - r.arrivalUs[i]) / 1000))], 'metrics', undefined, sm.count);
  }
  return out;
}

const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);

/** The base spec with the fitted terms written in (and removed from byDp), plus a derivation. */
function modelWithTerms(base: PresetSpec, terms: readonly FittedTerm[], ps: readonly Prepared[], name: string | undefined, notes: string[]): PresetSpec {
  const spec = structuredClone(base) as PresetSpec;
  const coef = { ...spec.coefficients } as Record<string, number>;
  for (const t of terms) if (t.fitted) coef[t.name] = t.valuePs;
  spec.coefficients = coef as PresetSpec['coefficients'];
  if (spec.byDp) {
    for (const d of Object.values(spec.byDp)) {
      if (!d.coefficients) continue;
      const c = d.coefficients as Record<string, number>;
      for (const t of terms) if (t.fitted) delete c[t.name];
    }
  }
  const fitted = terms.filter((t) => t.fitted);
  spec.name = name ?? `${base.name}-host`;
  spec.description = `${base.description ?? base.name}; host terms fitted to measured runs (${fitted.map((t) => t.name).join(', ') || 'none'})`;
  spec.derivation = {
    method: 'balanceroute calibrate --from-run (docs/calibration.md): each run replayed through the CPU engine; terms fitted on mean TPOT',
    base: base.name,
    fitted: fitted.map((t) => ({ term: t.name, valuePs: t.valuePs, valueUs: t.valuePs / 1e6, runs: t.fittedOn, note: t.note })),
    notFitted: terms.filter((t) => !t.fitted).map((t) => ({ term: t.name, valuePs: t.valuePs, note: t.note })),
    runs: ps.map((p) => ({ path: p.run.path, source: p.run.source, anchor: p.run.anchor, dp: p.scenario.dp, requests: p.run.arrivalUs.length, speed: p.speed, meanInFlight: Number(p.load.toFixed(2)), measuredTpotMs: Number(p.meas.tpotMs.toFixed(4)) })),
    notes,
    ...(base.derivation !== undefined ? { baseDerivation: base.derivation } : {}),
  };
  return spec;
}
