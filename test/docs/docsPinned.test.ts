// Docs pinned to code: the column list of docs/output.md is the result schema's, and every
// "docs/NAME.md §N" reference in the repository points at a section that exists.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resultColumnsFor } from '../../src/results/resultSchema.ts';
import { getRouter, routerNames } from '../../src/routers/index.ts';
import { makeScenario } from '../helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

/** `a_{x,y}_b` -> a_x_b, a_y_b (one brace group, as the docs write metric families). */
function expand(name: string): string[] {
  const m = /^(.*)\{([^}]+)\}(.*)$/.exec(name);
  return m ? m[2].split(',').flatMap((v) => expand(m[1] + v + m[3])) : [name];
}

/** Column names in the first cell of the tables of one `## ` section of a markdown file. */
function documentedColumns(markdown: string, section: string): string[] {
  const start = markdown.indexOf(`\n## ${section}\n`);
  expect(start, `section "${section}"`).toBeGreaterThan(-1);
  const end = markdown.indexOf('\n## ', start + 1);
  const names: string[] = [];
  for (const line of markdown.slice(start, end < 0 ? undefined : end).split('\n')) {
    const cell = /^\| ([^|]+) \|/.exec(line)?.[1];
    if (!cell || cell.trim() === 'Column' || cell.startsWith('---')) continue;
    for (const m of cell.matchAll(/`([^`]+)`/g)) names.push(...expand(m[1]));
  }
  return names;
}

describe('docs/output.md lists exactly the result schema', () => {
  it('every column of a file with every router and goodput, and nothing else', () => {
    const scenarios = routerNames().map((router, i) => makeScenario({ router, ...(i === 0 ? { goodput: { ttft: 1000 } } : {}) }));
    const schema = resultColumnsFor(scenarios).map((c) => c.name);
    const documented = documentedColumns(read('docs/output.md'), 'Result columns');
    // Knob columns are documented once, as a pattern.
    expect(documented).toContain('knob_<name>');
    expect(schema.filter((n) => n.startsWith('knob_')).length).toBeGreaterThan(0);
    const plain = (names: string[]) => [...new Set(names.filter((n) => !n.startsWith('knob_')))].sort();
    expect(plain(documented)).toEqual(plain(schema));
  });
});

/** Files that may cite a doc section. */
function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(join(ROOT, dir))) {
    const p = join(dir, name);
    if (statSync(join(ROOT, p)).isDirectory()) sources(p, out);
    else if (/\.(ts|mjs|md|wgsl|yaml)$/.test(name)) out.push(p);
  }
  return out;
}

/** Section numbers of a markdown file: "## 3. Title" -> 3, "### 3.3 Title" -> 3.3. */
function sectionNumbers(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.? /gm)) out.add(m[1]);
  return out;
}

describe('doc section references resolve', () => {
  it('every "NAME.md §N" in docs, README, src, shaders, tests, scripts, benches and examples names an existing section', () => {
    const files = ['README.md', ...['docs', 'src', 'shaders', 'test', 'scripts', 'benches', 'examples'].flatMap((d) => sources(d))];
    const docs = new Map(readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => [f, sectionNumbers(read(join('docs', f)))]));
    const broken: string[] = [];
    let checked = 0;
    for (const f of files) {
      const text = read(f);
      for (const m of text.matchAll(/\b([a-z][a-z0-9-]*)\.md §(\d+(?:\.\d+)*)/g)) {
        checked++;
        const sections = docs.get(`${m[1]}.md`);
        if (!sections) broken.push(`${relative(ROOT, join(ROOT, f))}: ${m[0]} (no docs/${m[1]}.md)`);
        else if (!sections.has(m[2])) broken.push(`${f}: ${m[0]} (docs/${m[1]}.md has no section ${m[2]})`);
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(50);
  });
});

describe('docs/gpu.md states the figures of the code', () => {
  it('router count, words per configuration and the equivalence sweep size', async () => {
    const { L } = await import('../../src/engine/gpu/layout.ts');
    const { KNOB_WORDS } = await import('../../src/engine/gpu/knobs.ts');
    const { equivalenceScenarios } = await import('../gpu/equivalenceScenarios.ts');
    const gpu = read('docs/gpu.md');
    const ported = routerNames().filter((n) => getRouter(n).wgsl !== undefined).length;
    expect(gpu).toContain(`the ${ported} routers of \`src/routers/\` that have a WGSL port`);
    const words = /\((\d+) = (\d+) parameter words, of which (\d+) knob slots, \+ (\d+) state words\)/.exec(gpu);
    expect(words, 'the words-per-configuration sentence').not.toBeNull();
    const [, total, params, knobs, state] = words!.map(Number);
    expect([params, knobs, state, total]).toEqual([L.P_HZ, KNOB_WORDS, L.S_WORDS, L.P_HZ + L.S_WORDS]);
    expect(gpu).toContain(`+ ${total})\` bytes`);
    const sweep = /equivalence sweep of the tests \((\d+) configurations/.exec(gpu);
    expect(Number(sweep?.[1])).toBe(equivalenceScenarios().length);
  });
});
