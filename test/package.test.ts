// What the published package relies on (scripts/pack-smoke.sh checks the packed package itself):
// src/ stands alone, runs compiled without tsx, and loads webgpu only on demand.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : /\.(ts|mjs)$/.test(f) ? [p] : [];
  });
}
const SRC = sources(join(ROOT, 'src')).map((p) => ({ file: relative(ROOT, p), text: readFileSync(p, 'utf8') }));
const importsOf = (text: string) => [...text.matchAll(/(?:from\s+|import\(\s*)'([^']+)'/g)].map((m) => m[1]);

describe('the package', () => {
  it('src/ imports nothing from benches/, test/ or scripts/', () => {
    const bad = SRC.flatMap(({ file, text }) => importsOf(text).filter((s) => /(^|\/)(benches|test|scripts)\//.test(s)).map((s) => `${file}: ${s}`));
    expect(bad).toEqual([]);
  });

  it('loads webgpu only through the adapter probe, on demand', () => {
    const users = SRC.filter(({ text }) => importsOf(text).includes('webgpu')).map((s) => s.file);
    expect(users).toEqual(['src/engine/gpu/adapter.ts']);
    expect(SRC.find((s) => s.file === 'src/engine/gpu/adapter.ts')!.text).not.toMatch(/^import .* from 'webgpu'/m);
  });

  it('needs tsx only for development, webgpu optionally, and ships dist/ and the shaders', () => {
    expect(pkg.dependencies.tsx).toBeUndefined();
    expect(pkg.devDependencies.tsx).toBeDefined();
    expect(pkg.dependencies.webgpu).toBeUndefined();
    expect(pkg.optionalDependencies.webgpu).toBeDefined();
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'shaders', 'bin/balanceroute.mjs']));
    expect(pkg.scripts.prepare).toMatch(/build/);
    expect(readFileSync(join(ROOT, pkg.bin.balanceroute), 'utf8')).toMatch(/import\('\.\.\/dist\/cli\.js'\)/);
  });
});
