/**
 * The calibrate/predict protocol of docs/fidelity.md in code: host terms are fitted per host on
 * the runs runs.ts marks `calibration` (or, for a host with a single run, `self-calibrated` on that
 * run) and applied unchanged to every run of the host. Prediction runs never reach this file.
 */
import { fitHostTerms } from '../../src/calibrate/fromRun.ts';
import type { MeasuredRun as FitRun } from '../../src/calibrate/measuredRun.ts';
import type { PresetSpec } from '../../src/model/analytic/presetSpec.ts';
import type { Scenario } from '../../src/config/scenario.ts';
import type { FidelityRun } from './runs.ts';
import type { MeasuredRun } from './suite.ts';

/** A run ready to simulate. */
export interface PreparedRun {
  run: FidelityRun;
  /** The run as the suite's tables read it (benches/fidelity/suite.ts). */
  measured: MeasuredRun;
  /** The same run as calibrate --from-run reads it (src/calibrate/measuredRun.ts). */
  fitRun: FitRun;
  /** Step model from the profile alone (no host terms). */
  base: PresetSpec;
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

/** The run's scenario with a given step model. */
type ScenarioFor = (p: PreparedRun, spec: PresetSpec) => Scenario;

const us = (ps: number) => `${(ps / 1e6).toFixed(1)} µs`;

/**
 * Fit a host's terms. The RTX PRO 6000's calibration runs each determine one per-step constant
 * (one load level each, docs/fidelity.md); the host value is the mean of the per-run fits, as
 * decided before any fit ran. `dpSyncIntraNode` is 0 (no DP 1 / DP 2 pair on any host).
 */
export async function fitHostTermsForHost(host: string, runs: readonly PreparedRun[], scenarioFor: ScenarioFor, hasDp2: boolean): Promise<HostFit> {
  if (runs.some((p) => p.run.role === 'prediction')) throw new Error(`host ${host}: refusing to fit on a prediction run`);
  if (runs.length === 0) throw new Error(`host ${host}: no calibration run`);
  const perRun: { id: string; hostPerStep: number; tpotAfter: string; clampedLow: boolean }[] = [];
  for (const p of runs) perRun.push({ id: p.run.id, ...(await fitPerStepConstant(p, scenarioFor)) });
  const hostPerStep = Math.round(perRun.reduce((s, r) => s + r.hostPerStep, 0) / perRun.length);
  const fittedOn = perRun.map((r) => r.id);
  const self = runs.length === 1 && runs[0].run.role === 'self-calibrated';
  const per = perRun.map((r) => `${r.id} ${us(r.hostPerStep)}`).join(', ');
  return {
    host,
    terms: { hostPerStep, hostPerRequest: 0, dpSyncIntraNode: 0, dpSyncInterNode: 0 },
    fittedOn,
    termRows: [
      {
        term: 'hostPerStep',
        value: us(hostPerStep),
        fittedOn:
          `${self ? 'self-calibrated on ' : ''}${fittedOn.join(' and ')}${perRun.length > 1 ? ` (mean of ${per})` : ''}` +
          perRun.filter((r) => r.clampedLow).map((r) => `; ${r.id}: 0 is the lower bound (the step model alone is slower than measured: mean TPOT ${r.tpotAfter})`).join(''),
      },
      { term: 'hostPerRequest', value: '0', fittedOn: 'not fitted (one load level per run; not determined)' },
      {
        term: 'dpSyncIntraNode',
        value: '0',
        fittedOn: hasDp2 ? 'not fitted: no DP 1 / DP 2 pair on this host outside the validation target; no published prior (decided before the fit)' : 'not used (no DP >= 2 run on this host)',
      },
      { term: 'dpSyncInterNode', value: '0', fittedOn: 'not used (single node)' },
    ],
    summary:
      `hostPerStep ${us(hostPerStep)} (${perRun.length > 1 ? `mean of ${per}` : `fitted on ${per}`}${self ? ', self-calibrated: not a prediction' : ''}); ` +
      `hostPerRequest 0, dpSync 0 (not fitted); mean TPOT at the per-run fit: ${perRun.map((r) => `${r.id} ${r.tpotAfter}`).join(', ')}`,
  };
}

/** A what-if: hostPerStep set by hand (`--host-per-step-us`), nothing fitted; not the protocol. */
export function manualHostTerms(host: string, hostPerStepUs: number): HostFit {
  const ps = Math.round(hostPerStepUs * 1e6);
  return {
    host,
    terms: { hostPerStep: ps, hostPerRequest: 0, dpSyncIntraNode: 0, dpSyncInterNode: 0 },
    fittedOn: [],
    termRows: [{ term: 'hostPerStep', value: us(ps), fittedOn: 'set by hand (what-if, not the protocol)' }],
    summary: `WHAT-IF: hostPerStep set by hand to ${us(ps)} (not fitted; not the protocol's prediction)`,
  };
}

/**
 * One run's per-step constant: `fitHostTerms` (calibrate --from-run) on the run's engine log,
 * hostPerStep only (bisection in whole µs on mean TPOT), on the profile-calibrated model.
 */
async function fitPerStepConstant(p: PreparedRun, scenarioFor: ScenarioFor): Promise<{ hostPerStep: number; tpotAfter: string; clampedLow: boolean }> {
  const fit = await fitHostTerms([{ run: p.fitRun, scenario: scenarioFor(p, p.base) }], { terms: ['hostPerStep'], base: p.base });
  const t = fit.terms.find((x) => x.name === 'hostPerStep')!;
  const r = fit.residuals.find((x) => x.component === 'tpot' && x.window === undefined)!;
  // fitHostTerms stops at 0 when the profile-only model is already slower than the run.
  const clampedLow = t.valuePs === 0 && r.predictedMs > r.measuredMs;
  return { hostPerStep: t.valuePs, tpotAfter: `${r.predictedMs.toFixed(2)} vs ${r.measuredMs.toFixed(2)} ms`, clampedLow };
}
