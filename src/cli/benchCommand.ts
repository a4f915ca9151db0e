import { accessSync, constants, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchMarkdown, deviceSlug, runBench } from '../bench/harness.ts';
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
  // The results directory is checked (and made) before minutes of benchmarking, not after.
  if (f.save !== false) checkOutDir(f.outDir);
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
    // Date and device in the name, e.g. 2026-11-23-cpu+gpu-nvidia-h100-80gb-hbm3.
    const stem = `${report.date.slice(0, 10)}-${report.engines.map(deviceSlug).join('+')}${f.quick ? '-quick' : ''}`;
    // The table is already on stdout: a write that fails now loses no measurement; say so in one line.
    try {
      writeFileSync(join(f.outDir, `${stem}.json`), JSON.stringify(report, null, 2) + '\n');
      writeFileSync(join(f.outDir, `${stem}.md`), md + '\n');
    } catch (e) {
      throw new InputError('out_dir', f.outDir, `cannot write the results (${(e as NodeJS.ErrnoException).code ?? 'error'}); the table above is the run's output`);
    }
    process.stderr.write(`saved ${join(f.outDir, stem)}.{md,json}\n`);
  }
}

/** A directory the results can be written in: created if missing; one-line error otherwise. */
export function checkOutDir(dir: string): void {
  if (dir === '') throw new InputError('out_dir', dir, 'is empty');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new InputError('out_dir', dir, `cannot create the directory (${code}${code === 'ENOTDIR' ? ': a part of it is a file' : code === 'EEXIST' ? ': not a directory' : ''})`);
  }
  if (!statSync(dir).isDirectory()) throw new InputError('out_dir', dir, 'is not a directory');
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new InputError('out_dir', dir, `cannot write in it (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
