/**
 * `balanceroute calibrate PROFILE_DIR -o model.json`: fit the step-time model to a layer-wise
 * vLLM profile and write a model file for `--model`. `balanceroute calibrate config.json --gpu
 * h100 -o model.json`: derive a roofline preset from a Hugging Face config instead.
 * docs/step-model.md describes both. `balanceroute calibrate --from-run LOG --model BASE -o
 * model.json`: fit the host terms to measured runs (calibrateFromRun.ts, docs/calibration.md).
 */
import { statSync, writeFileSync } from 'node:fs';
import { readInputText } from '../formats/inputFile.ts';
import { basename } from 'node:path';
import { InputError } from '../errors.ts';
import { checkDistinct, checkOutputPath, messageStream, writeFileAtomic } from '../formats/outputFile.ts';
import { profileInputs } from '../calibrate/profile.ts';
import { analyticPreset } from '../model/analytic/analytic.ts';
import { architectureFromHfConfig } from '../model/analytic/architecture.ts';
import { calibrate, HOLD_OUT_EVERY, type ErrorStats } from '../calibrate/calibrate.ts';
import { findGpu, GPUS } from '../model/analytic/gpus.ts';
import { modelFromSpec } from '../model/presets.ts';
import type { PresetSpec } from '../model/analytic/presetSpec.ts';
import { numberFlag } from './parseFlags.ts';

export interface CalibrateFlags {
  output: string;
  config?: string;
  dp?: string;
  tp?: string;
  gpu?: string;
  maxNumSeqs?: string;
  maxContext?: string;
  cudaGraphs?: boolean;
  l2Correction?: boolean;
  stepOverheadUs?: string;
  skewAlpha?: string;
  gpuMemoryUtilization?: string;
  reserveGib?: string;
  name?: string;
  json?: boolean;
  // --from-run mode (calibrateFromRun.ts)
  fromRun?: string[];
  model?: string;
  fit?: string;
  speed?: string;
  seed?: string;
  router?: string;
  maxBatchedTokens?: string;
  kvCapacity?: string;
  ranksPerNode?: string;
  asyncScheduling?: string;
}

function dpList(s: string | undefined): number[] | undefined {
  if (s === undefined) return undefined;
  const parts = s.split(',').map((p) => p.trim());
  const out = parts.map((p) => Number(p));
  if (parts.some((p) => p === '') || out.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new InputError('dp', s, 'expected a comma-separated list of DP sizes, e.g. 1,2,4');
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function line(s: ErrorStats): string {
  return `p50 ${pct(s.p50)}  p90 ${pct(s.p90)}  p99 ${pct(s.p99)}  (max ${pct(s.max)}, bias ${s.bias >= 0 ? '+' : ''}${pct(s.bias)}, n ${s.n})`;
}

export async function calibrateCommand(source: string | undefined, f: CalibrateFlags): Promise<void> {
  if (f.fromRun !== undefined) {
    if (source !== undefined) throw new InputError('profile', source, 'give either a profile/config or --from-run, not both');
    const { calibrateFromRun } = await import('./calibrateFromRun.ts');
    await calibrateFromRun({ ...f, fromRun: f.fromRun });
    return;
  }
  const from = ['model', 'fit', 'speed', 'seed', 'router', 'maxBatchedTokens', 'kvCapacity', 'ranksPerNode', 'asyncScheduling'] as const;
  for (const k of from) {
    if (f[k] !== undefined) throw new InputError(k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), f[k], 'applies to calibrate --from-run only');
  }
  if (source === undefined) throw new InputError('profile', undefined, 'give a profile folder, a config.json (with --gpu) or --from-run LOG');
  let isFile = false;
  try {
    isFile = statSync(source).isFile();
  } catch {
    // not there: calibrate() reports it
  }
  // The model file may be none of the files it is fitted from (a profile table, the model config,
  // meta.yaml): checked before any fitting. `-o -` writes the JSON to stdout.
  checkDistinct(
    [{ what: 'the model file', target: checkOutputPath(f.output, 'output', { stdout: true }) }],
    isFile ? [{ what: 'the model config', path: source }] : profileInputs(source, f.config),
  );
  const say = (s: string) => messageStream().write(s);
  // Two-space JSON, with arrays of numbers (the curves) kept on one line each.
  const outText = (spec: PresetSpec) =>
    JSON.stringify(spec, null, 2).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, body: string) => `[${body.split(/,\s*/).join(', ')}]`) + '\n';
  if (isFile) {
    // Analytic mode: a Hugging Face config.json and a GPU.
    if (!f.gpu) throw new InputError('gpu', undefined, `the roofline derivation needs a GPU: --gpu ${Object.keys(GPUS).join('|')}`);
    const gpu = findGpu(f.gpu);
    if (!gpu) throw new InputError('gpu', f.gpu, `unknown GPU; known: ${Object.keys(GPUS).join(', ')}`);
    let cfg: unknown;
    try {
      cfg = JSON.parse(readInputText(source, 'config', 'text', 'model config'));
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError('config', source, `not a readable JSON config (${(e as Error).message.split('\n')[0]})`);
    }
    const arch = architectureFromHfConfig(cfg, 'config');
    const name = f.name ?? `${basename(source).replace(/\.json$/i, '')}-${gpu.key}`;
    const spec = analyticPreset(name, arch, gpu, undefined, arch.modelType, source);
    modelFromSpec(spec, 'derived'); // validate before writing
    writeFileAtomic(f.output, (tmp) => writeFileSync(tmp, outText(spec)), 'output', { stdout: true });
    say(`derived ${spec.name} (roofline, ${gpu.name}); wrote ${f.output}\n`);
    return;
  }
  const r = calibrate({
    path: source,
    config: f.config,
    dp: dpList(f.dp),
    tp: numberFlag('tp', f.tp),
    gpu: f.gpu,
    maxNumSeqs: numberFlag('max_num_seqs', f.maxNumSeqs),
    maxContext: numberFlag('max_context', f.maxContext),
    cudaGraphs: f.cudaGraphs,
    l2Correction: f.l2Correction,
    stepOverheadUs: numberFlag('step_overhead_us', f.stepOverheadUs),
    skewAlpha: numberFlag('skew_alpha', f.skewAlpha),
    gpuMemoryUtilization: numberFlag('gpu_memory_utilization', f.gpuMemoryUtilization),
    reserveBytes: f.reserveGib !== undefined ? (numberFlag('reserve_gib', f.reserveGib) as number) * 2 ** 30 : undefined,
    name: f.name,
  });
  writeFileAtomic(f.output, (tmp) => writeFileSync(tmp, outText(r.preset)), 'output', { stdout: true });
  if (f.json) {
    say(JSON.stringify({ name: r.preset.name, output: f.output, derivation: r.preset.derivation }, null, 2) + '\n');
    return;
  }
  const m = r.profile.meta;
  const model = modelFromSpec(r.preset);
  const out = [
    `calibrated ${r.preset.name} from ${r.profile.dir}`,
    `  profile: vLLM ${m.vllmVersion ?? '?'} on ${m.gpu ?? '?'}${m.enforceEager ? ' (eager)' : ''}; model config ${r.profile.configPath}`,
    `  fit: ${r.trainRows} attention points, every ${HOLD_OUT_EVERY}th held out (${r.heldOutRows}); ${r.excludedRows} outside the fitting domain`,
    ...r.notes.map((n) => `  ${n}`),
    `  whole-step relative error on held-out profile points:`,
    ...[...r.heldOut].flatMap(([g, s]) => {
      const k = r.heldOutByKind.get(g)!;
      return [
        `    dp ${g}: ${line(s)}`,
        ...(['decode', 'mixed', 'prefill'] as const).map((kind) => `      ${(kind + '-only').replace('mixed-only', 'mixed').padEnd(13)}${line(k[kind])}`),
      ];
    }),
    `  KV capacity per rank: ${[...r.heldOut.keys()].map((g) => `dp${g} ${model.kvCapacityTokens(g)} tokens`).join(', ')}`,
    `wrote ${f.output} (use it with --model ${f.output})`,
  ];
  say(out.join('\n') + '\n');
}
