#!/usr/bin/env node
// Builds the package: dist/ from a clean slate with tsc (tsconfig.build.json), plus the data
// files the compiled modules read next to themselves (workload profiles). Run by `prepare`.
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(`${root}dist`, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
// Data read at run time through import.meta.url (src/workload/profiles.ts).
const assets = [['src/workload/profiles', 'dist/workload/profiles', /\.json$/]];
for (const [from, to, pattern] of assets) {
  for (const f of readdirSync(`${root}${from}`)) if (pattern.test(f)) cpSync(`${root}${from}/${f}`, `${root}${to}/${f}`);
}
