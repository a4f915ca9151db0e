// The host-term fit of `calibrate --from-run` on runs simulated with known terms: it recovers what
// was injected, fits only what the runs determine, refuses the undetermined, and writes a model
// file that loads. (The emulator round trip is test/calibrate/fromRunEmulate.test.ts.)
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fitHostTerms, residualsFor, type RunToFit } from '../../src/calibrate/fromRun.ts';
import type { MeasuredRun } from '../../src/calibrate/measuredRun.ts';
import { scenarioFromFlat } from '../../src/config/expand.ts';
import { simulate } from '../../src/engine/cpu/simulate.ts';
import { resolveStepModel, modelFromSpec } from '../../src/model/presets.ts';
import type { StepModel } from '../../src/model/types.ts';
import { getWorkload } from '../../src/workload/build.ts';
import { cliIn } from '../cli/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'from-run-'));
// A small dense model: 0.2 ms of GPU time per step, 20 µs per decode sequence.
const TINY = {
  name: 'tiny-dense',
  description: 'small dense test model',
  coefficients: { base: 200_000_000, baseExperts: 0, perDecodeSeq: 20_000_000, perPrefillToken: 1_000_000, perKvTokenRead: 1_000, perAttnKiloPair: 0, a2aBase: 0, a2aPerMaxRankToken: 0, a2aPerToken: 0 },
  maxModelLen: 8192,
  kvCapacityTokens: 262_144,
};
const tinyPath = join(dir, 'tiny.json');
writeFileSync(tinyPath, JSON.stringify(TINY));

/** A "measured" run: the simulator's own per-request times under a model with injected terms. */
function synthetic(entry: Record<string, unknown>, inject: Record<string, number>, anchor: 'client' | 'engine', path: string): RunToFit {
  const sc = scenarioFromFlat({ model: tinyPath, ...entry });
  const wl = getWorkload(sc.workload);
  const truth = { ...resolveStepModel(sc.model), ...inject } as StepModel;
  const d = simulate(sc, wl, truth, { detail: true }).requests! as unknown as {
    status: Uint8Array;
    firstTokenUs: Float64Array;
    endUs: Float64Array;
    queuedUs: Float64Array;
    scheduledUs: Float64Array;
  };
  const n = wl.n;
  const run: MeasuredRun = {
    source: anchor === 'engine' ? 'engine-log' : 'loadgen',
    anchor,
    path,
    arrivalUs: wl.arrivalUs.slice(),
    prompt: wl.prompt.slice(),
    output: wl.output.slice(),
    ok: new Uint8Array(n),
    ttftUs: new Float64Array(n).fill(-1),
    e2eUs: new Float64Array(n).fill(-1),
    dp: sc.dp,
    notes: [],
  };
  if (anchor === 'engine') {
    run.queueUs = new Float64Array(n);
    run.prefillUs = new Float64Array(n);
  }
  for (let i = 0; i < n; i++) {
    if (d.status[i] !== 4) continue;
    run.ok[i] = 1;
    const start = anchor === 'engine' ? d.queuedUs[i] : wl.arrivalUs[i];
    run.ttftUs[i] = d.firstTokenUs[i] - start;
    run.e2eUs[i] = d.endUs[i] - start;
    if (anchor === 'engine') {
      run.queueUs![i] = d.scheduledUs[i] - d.queuedUs[i];
      run.prefillUs![i] = d.firstTokenUs[i] - d.scheduledUs[i];
    }
  }
  return { run, scenario: sc };
}

const US = 1_000_000; // ps per µs
const term = (fit: Awaited<ReturnType<typeof fitHostTerms>>, name: string) => fit.terms.find((t) => t.name === name)!;

describe('fitHostTerms', () => {
  it('recovers an injected hostPerStep from one run, and only that term', async () => {
    const r = synthetic({ dp: 1, rate: 8, requests: 200, seed: 1, max_output: 200 }, { hostPerStep: 2000 * US }, 'client', 'one.arrow');
    const fit = await fitHostTerms([r]);
    const step = term(fit, 'hostPerStep');
    expect(step.fitted).toBe(true);
    expect(Math.abs(step.valuePs / US - 2000)).toBeLessThanOrEqual(2000 * 0.01);
    expect(step.fittedOn).toEqual(['one.arrow']);
    for (const t of ['hostPerRequest', 'dpSyncIntraNode', 'dpSyncInterNode']) expect(term(fit, t).fitted).toBe(false);
    // TPOT is fitted; TTFT and E2E then follow (same engine, same anchor).
    const res = (c: string) => fit.residuals.find((x) => x.component === c && x.window === undefined)!;
    expect(Math.abs(res('tpot').errorPct)).toBeLessThan(1);
    expect(Math.abs(res('ttft').errorPct)).toBeLessThan(3);
    expect(Math.abs(res('e2e').errorPct)).toBeLessThan(1);
    expect(fit.residuals.filter((x) => x.component === 'tpot' && x.window).length).toBe(4);
    expect(res('ttft').anchor).toBe('client');
  });

  it("client-side runs carry the model's front-end terms (SPEC: ingress, egress, per token)", async () => {
    const fe = { ingressUs: 3000, egressUs: 1000, perTokenUs: 50 };
    const path = join(dir, 'tiny-fe.json');
    writeFileSync(path, JSON.stringify({ ...TINY, name: 'tiny-fe', frontend: fe }));
    const sc = scenarioFromFlat({ model: path, dp: 1, rate: 8, requests: 150, seed: 11, max_output: 150 });
    const wl = getWorkload(sc.workload);
    const d = simulate(sc, wl, { ...resolveStepModel(path), hostPerStep: 1500 * US } as StepModel, { detail: true }).requests!;
    const n = wl.n;
    const run: MeasuredRun = { source: 'loadgen', anchor: 'client', path: 'fe.arrow', arrivalUs: wl.arrivalUs.slice(), prompt: wl.prompt.slice(), output: wl.output.slice(), ok: new Uint8Array(n), ttftUs: new Float64Array(n).fill(-1), e2eUs: new Float64Array(n).fill(-1), notes: [] };
    for (let i = 0; i < n; i++) {
      if (d.status[i] !== 4) continue;
      run.ok[i] = 1;
      run.ttftUs[i] = d.firstTokenUs[i] - wl.arrivalUs[i] + fe.ingressUs + fe.perTokenUs;
      run.e2eUs[i] = d.endUs[i] - wl.arrivalUs[i] + fe.ingressUs + fe.egressUs + fe.perTokenUs * wl.output[i];
    }
    const fit = await fitHostTerms([{ run, scenario: sc }]);
    expect(Math.abs(term(fit, 'hostPerStep').valuePs / US - 1500)).toBeLessThanOrEqual(15);
    for (const c of ['ttft', 'tpot', 'e2e']) {
      const x = fit.residuals.find((y) => y.component === c && !y.window)!;
      expect(Math.abs(x.errorPct), c).toBeLessThan(1);
    }
  });

  it('engine-anchored runs get queue-wait and prefill-service residuals', async () => {
    const r = synthetic({ dp: 1, rate: 6, requests: 150, seed: 2, max_output: 150 }, { hostPerStep: 1500 * US }, 'engine', 'requests.jsonl');
    const fit = await fitHostTerms([r]);
    expect(Math.abs(term(fit, 'hostPerStep').valuePs / US - 1500)).toBeLessThanOrEqual(15);
    const comps = fit.residuals.filter((x) => !x.window).map((x) => [x.component, x.anchor]);
    expect(comps).toEqual([['queue_wait', 'engine'], ['prefill_service', 'engine'], ['ttft', 'engine'], ['tpot', 'engine'], ['e2e', 'engine']]);
    const prefill = fit.residuals.find((x) => x.component === 'prefill_service')!;
    expect(Math.abs(prefill.errorPct)).toBeLessThan(3);
  });

  it('fits hostPerRequest only when two load levels disagree, and recovers both terms', async () => {
    const inject = { hostPerStep: 1000 * US, hostPerRequest: 40 * US };
    const lo = synthetic({ dp: 1, rate: 2, requests: 150, seed: 3, max_output: 150 }, inject, 'client', 'low.arrow');
    const hi = synthetic({ dp: 1, rate: 30, requests: 300, seed: 4, max_output: 150 }, inject, 'client', 'high.arrow');
    const fit = await fitHostTerms([lo, hi]);
    const req = term(fit, 'hostPerRequest');
    expect(req.fitted).toBe(true);
    expect(Math.abs(req.valuePs / US - 40)).toBeLessThanOrEqual(40 * 0.15);
    expect(Math.abs(term(fit, 'hostPerStep').valuePs / US - 1000)).toBeLessThanOrEqual(1000 * 0.1);
    // Without a per-request term the levels agree: only the constant is fitted.
    const lo0 = synthetic({ dp: 1, rate: 2, requests: 150, seed: 3, max_output: 150 }, { hostPerStep: 1000 * US }, 'client', 'low0.arrow');
    const hi0 = synthetic({ dp: 1, rate: 30, requests: 300, seed: 4, max_output: 150 }, { hostPerStep: 1000 * US }, 'client', 'high0.arrow');
    const fit0 = await fitHostTerms([lo0, hi0]);
    expect(term(fit0, 'hostPerRequest').fitted).toBe(false);
    expect(term(fit0, 'hostPerRequest').note).toMatch(/load levels agree/);
  }, 120_000);

  it('fits dpSyncIntraNode from runs at DP 1 and DP 2', async () => {
    const one = synthetic({ dp: 1, rate: 4, requests: 150, seed: 5, max_output: 150 }, { hostPerStep: 800 * US }, 'client', 'dp1.arrow');
    const two = synthetic({ dp: 2, rate: 8, requests: 200, seed: 6, max_output: 150 }, { hostPerStep: 800 * US, dpSyncIntraNode: 600 * US }, 'client', 'dp2.arrow');
    const fit = await fitHostTerms([one, two]);
    expect(Math.abs(term(fit, 'hostPerStep').valuePs / US - 800)).toBeLessThanOrEqual(16);
    expect(term(fit, 'hostPerStep').fittedOn).toEqual(['dp1.arrow']);
    const sync = term(fit, 'dpSyncIntraNode');
    expect(sync.fitted).toBe(true);
    expect(sync.fittedOn).toEqual(['dp2.arrow']);
    expect(Math.abs(sync.valuePs / US - 600)).toBeLessThanOrEqual(600 * 0.05);
    expect(term(fit, 'dpSyncInterNode').fitted).toBe(false);
  });

  it('refuses terms the runs do not determine', async () => {
    const r = synthetic({ dp: 2, rate: 4, requests: 60, seed: 7, max_output: 60 }, { hostPerStep: 500 * US }, 'client', 'only-dp2.arrow');
    await expect(fitHostTerms([r], { terms: ['hostPerStep', 'hostPerRequest'] })).rejects.toThrow(/^fit: needs runs at two or more load levels/);
    await expect(fitHostTerms([r], { terms: ['dpSyncIntraNode'] })).rejects.toThrow(/^fit: needs runs at DP 1 and runs at DP 2\.\.8 \(one node\) on the same host; got DP 2/);
    await expect(fitHostTerms([r], { terms: ['hostPerRequest'] })).rejects.toThrow(/add hostPerStep/);
    // DP 2 alone: hostPerStep includes the synchronisation, and the notes say so.
    const fit = await fitHostTerms([r]);
    expect(fit.notes.join(' ')).toMatch(/without a DP 1 run: it includes the DP synchronisation/);
    const none = { ...r, run: { ...r.run, output: r.run.output.map(() => 1) as Int32Array } };
    await expect(fitHostTerms([none])).rejects.toThrow(/TPOT, the fitting target, is not measured/);
  });

  it('writes the base model plus the fitted terms, with a derivation; residualsFor predicts without fitting', async () => {
    const r = synthetic({ dp: 1, rate: 8, requests: 120, seed: 8, max_output: 120 }, { hostPerStep: 1200 * US }, 'client', 'w.arrow');
    const fit = await fitHostTerms([r], { name: 'tiny-fitted' });
    const m = fit.model as unknown as Record<string, unknown> & { coefficients: Record<string, number>; derivation: Record<string, unknown> };
    expect(m.name).toBe('tiny-fitted');
    expect(m.coefficients).toMatchObject({ ...TINY.coefficients, hostPerStep: term(fit, 'hostPerStep').valuePs });
    expect(m.derivation).toMatchObject({ base: 'tiny-dense', fitted: [{ term: 'hostPerStep', runs: ['w.arrow'] }] });
    expect((modelFromSpec(fit.model) as unknown as Record<string, number>).hostPerStep).toBe(term(fit, 'hostPerStep').valuePs);
    const pred = residualsFor([r], { hostPerStep: term(fit, 'hostPerStep').valuePs });
    expect(pred.map((x) => x.predictedMs)).toEqual(fit.residuals.map((x) => x.predictedMs));
  });
});

describe('balanceroute calibrate --from-run (CLI)', () => {
  const run = cliIn; // the CLI in this process (test/cli/cli.ts)
  // An engine log written from a simulated run (the LLMServingSim requests.jsonl layout).
  const r = synthetic({ dp: 1, rate: 6, requests: 100, seed: 9, max_output: 100 }, { hostPerStep: 900 * US }, 'engine', 'x');
  const log = join(dir, 'requests.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < r.run.arrivalUs.length; i++) {
    const a = r.run.arrivalUs[i] / 1e6;
    const q = a + 0.0005; // engine clock: any offset
    lines.push(JSON.stringify({
      request_id: `bench-${i}`, input_toks: r.run.prompt[i], output_toks: r.run.output[i], arrival_time: 1e9 + a,
      queued_ts: q, scheduled_ts: q + r.run.queueUs![i] / 1e6, first_token_ts: q + r.run.ttftUs[i] / 1e6, last_token_ts: q + r.run.e2eUs[i] / 1e6,
    }));
  }
  writeFileSync(log, lines.join('\n') + '\n');

  it('fits, prints terms and residuals per component with the anchor, and writes the model file', async () => {
    const out = join(dir, 'cli.json');
    const c = await run(['calibrate', '--from-run', log, '--model', tinyPath, '--dp', '1', '-o', out]);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/hostPerStep\s+\d+ µs {2}fitted on 1 run/);
    expect(c.stdout).toMatch(/queue_wait .*engine-anchored/);
    expect(c.stdout).toMatch(/prefill_service .*engine-anchored/);
    expect(c.stdout).toMatch(/tpot 0\.0-/);
    const spec = JSON.parse(readFileSync(out, 'utf8')) as { coefficients: Record<string, number> };
    expect(Math.abs(spec.coefficients.hostPerStep / US - 900)).toBeLessThanOrEqual(9);
    // The deployment's flags reach the replay: a synchronous scheduler is another deployment.
    const sync = await run(['calibrate', '--from-run', log, '--model', tinyPath, '--dp', '1', '--async-scheduling', 'off', '--json', '-o', join(dir, 'sync.json')]);
    expect(sync.code, sync.stderr).toBe(0);
    expect(JSON.parse(sync.stdout).terms[0].name).toBe('hostPerStep');
  });

  it('refuses without a DP size or base model, and with an undetermined term', async () => {
    const out = join(dir, 'no.json');
    const a = await run(['calibrate', '--from-run', log, '--model', tinyPath, '-o', out]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/^balanceroute: dp: .*does not record the DP size; pass --dp N\n$/);
    const b = await run(['calibrate', '--from-run', log, '--dp', '1', '-o', out]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/^balanceroute: model: .*does not record a step model; pass --model/);
    const c = await run(['calibrate', '--from-run', log, '--model', tinyPath, '--dp', '1', '--fit', 'hostPerStep,dpSyncInterNode', '-o', out]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/^balanceroute: fit: needs runs at DP 1 and runs at DP > 8/);
    const d = await run(['calibrate', '--from-run', log, '--model', tinyPath, '--dp', '1', '--fit', 'hostPerBlock', '-o', out]);
    expect(d.stderr).toMatch(/^balanceroute: fit: unknown host term; known: hostPerStep, hostPerRequest, dpSyncIntraNode, dpSyncInterNode/);
    const e = await run(['calibrate', 'somewhere', '--from-run', log, '-o', out]);
    expect(e.stderr).toMatch(/^balanceroute: profile: give either a profile\/config or --from-run/);
    const g = await run(['calibrate', '--from-run', log, '--model', tinyPath, '--dp', '1', '--async-scheduling', 'maybe', '-o', out]);
    expect(g.code).toBe(2);
    expect(g.stderr).toMatch(/^balanceroute: async_scheduling: .*\(the deployment of .*requests\.jsonl\)/);
    const f = await run(['calibrate', tinyPath, '--fit', 'hostPerStep', '-o', out]);
    expect(f.stderr).toMatch(/^balanceroute: fit: applies to calibrate --from-run only/);
    expect(() => readFileSync(out)).toThrow();
  });
});
