import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchMarkdown, runBench } from '../bench/harness.ts';
import { InputError } from '../errors.ts';
import { numberFlag } from './parseFlags.ts';

export interface BenchFlags {
  quick?: boolean;
  /** Also measure the WebGPU engine (fails when there is no adapter). */
  gpu?: boolean;
  reps?: string;
  threads?: string;
  outDir: string;
  save?: boolean;
}

/** Run the benchmarks, print a markdown table, save markdown + JSON under outDir. */
export async function benchCommand(f: BenchFlags): Promise<void> {
  const reps = numberFlag('reps', f.reps);
  if (reps !== undefined && (!Number.isInteger(reps) || reps < 1)) throw new InputError('reps', f.reps, 'must be an integer >= 1');
  const threads = numberFlag('threads', f.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new InputError('threads', f.threads, 'must be an integer >= 1');
  const extraEngines = [];
  if (f.gpu) {
    const { probeAdapter } = await import('../engine/gpu/adapter.ts');
    const { createGpuEngine } = await import('../engine/choose.ts');
    const probe = await probeAdapter();
    if (!probe.adapter) throw new InputError('gpu', true, `${probe.reason}; run without --gpu for the CPU engine only`);
    if (probe.isFallback) process.stderr.write(`note: ${probe.name} is a software adapter: its figures say nothing about GPU speed\n`);
    extraEngines.push({ label: 'gpu', make: () => createGpuEngine({ probe }) });
  }
  const report = await runBench({ quick: f.quick, reps, threads, extraEngines, log: (l) => process.stderr.write(l + '\n') });
  const md = benchMarkdown(report);
  process.stdout.write(md + '\n');
  if (f.save !== false) {
    mkdirSync(f.outDir, { recursive: true });
    // Date and device in the name, e.g. 2026-11-23-cpu+gpu-nvidia-h100-80gb-hbm3.
    const device = (e: { engine: string; adapter: string }) =>
      e.adapter ? `${e.engine}-${e.adapter.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 40).replace(/^-+|-+$/g, '')}` : e.engine;
    const stem = `${report.date.slice(0, 10)}-${report.engines.map(device).join('+')}${f.quick ? '-quick' : ''}`;
    writeFileSync(join(f.outDir, `${stem}.json`), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(join(f.outDir, `${stem}.md`), md + '\n');
    process.stderr.write(`saved ${join(f.outDir, stem)}.{md,json}\n`);
  }
}
