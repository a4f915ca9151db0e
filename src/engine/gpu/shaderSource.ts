/**
 * Loads the WGSL kernels from `shaders/` and the buffer layout constants they define.
 *
 * The simulation kernel is one WGSL module assembled from library files (WGSL has no `#include`):
 * layout (bindings, field numbers), the router knob slots (generated from the routers' knob
 * lists: knobs.ts), the status, predictor and router-id tables and `route()` (generated from the
 * router registry: routing.ts), 64-bit integer helpers, PCG, the Gaussian helpers, the routers and the main
 * loop. Otherwise the host specialises the module only through pipeline-overridable constants
 * (ROUTER, PER_STEP, G_FIXED) and the per-chunk `dims` uniform.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { knobSource } from './knobs.ts';
import { routingSource } from './routing.ts';

/** Name of the generated router-knob source among the module's files. */
export const KNOBS = 'knobs (generated)';
/** Name of the generated status, predictor and router-id tables and `route()` (routing.ts). */
export const ROUTING = 'routing (generated)';

/** Files of the simulation module, in the order they are joined (KNOBS: the generated slots). */
export const SIMULATION_FILES = ['layout.wgsl', KNOBS, ROUTING, 'u64.wgsl', 'rng.wgsl', 'gaussian.wgsl', 'routers.wgsl', 'simulate.wgsl'] as const;

/** Name of the simulation module in error messages; entry points are named after it. */
export const SIMULATION_MODULE = 'simulate.wgsl';
export const ENTRY_INIT = 'initConfigs';
export const ENTRY_STEP = 'simulateSteps';

// shaders/ sits at the package root, three levels above this file in src/ and in dist/.
const SHADER_DIR = fileURLToPath(new URL('../../../shaders/', import.meta.url));

const cache = new Map<string, string>();

/** A WGSL source by file name (or KNOBS). */
export function readShader(file: string): string {
  if (file === KNOBS) return knobSource();
  if (file === ROUTING) return routingSource();
  let s = cache.get(file);
  if (s === undefined) {
    s = readFileSync(SHADER_DIR + file, 'utf8');
    cache.set(file, s);
  }
  return s;
}

/** WGSL sources joined into one module, each under a header line naming it. */
export function joinSources(files: readonly string[]): string {
  return files.map((f) => `// ---- ${f} ----\n${readShader(f)}`).join('\n');
}

/** The simulation module's WGSL source. */
export function simulationSource(): string {
  return joinSources(SIMULATION_FILES);
}

/**
 * `const NAME: u32 = EXPR;` declarations of a WGSL source, as a name -> value map. EXPR is a
 * literal (`12u`, `0xffu`) or a sum of literals and constants declared before it.
 */
export function parseU32Constants(wgsl: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = /^const\s+([A-Z][A-Z0-9_]*)\s*:\s*u32\s*=\s*([^;]+);/gm;
  for (const m of wgsl.matchAll(re)) {
    let sum = 0;
    for (const term of m[2].split('+').map((t) => t.trim())) {
      const lit = /^(0x[0-9a-fA-F]+|\d+)u$/.exec(term);
      const v = lit ? Number(lit[1]) : out.get(term);
      if (v === undefined) throw new Error(`WGSL constant ${m[1]}: cannot evaluate ${term}`);
      sum += v;
    }
    out.set(m[1], sum);
  }
  return out;
}
