/**
 * Loads the WGSL kernels from `shaders/` and the buffer layout constants they define.
 *
 * The simulation kernel is one WGSL module assembled from library files (WGSL has no `#include`):
 * layout (bindings, field numbers), 64-bit integer helpers, PCG, the Gaussian helpers, the routers
 * and the main loop. Nothing is generated or pasted in: the host specialises the module only
 * through pipeline-overridable constants (ROUTER, PER_STEP, G_FIXED) and the per-chunk `dims`
 * uniform.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Files of the simulation module, in the order they are joined. */
export const SIMULATION_FILES = ['layout.wgsl', 'u64.wgsl', 'rng.wgsl', 'gaussian.wgsl', 'routers.wgsl', 'simulate.wgsl'] as const;

/** Name of the simulation module in error messages; entry points are named after it. */
export const SIMULATION_MODULE = 'simulate.wgsl';
export const ENTRY_INIT = 'initConfigs';
export const ENTRY_STEP = 'simulateSteps';

const SHADER_DIR = fileURLToPath(new URL('../../../shaders/', import.meta.url));

const cache = new Map<string, string>();

export function readShader(file: string): string {
  let s = cache.get(file);
  if (s === undefined) {
    s = readFileSync(SHADER_DIR + file, 'utf8');
    cache.set(file, s);
  }
  return s;
}

/** The simulation module's WGSL source. */
export function simulationSource(): string {
  return SIMULATION_FILES.map((f) => `// ---- ${f} ----\n${readShader(f)}`).join('\n');
}

/** `const NAME: u32 = N;` declarations of a WGSL source, as a name -> value map. */
export function parseU32Constants(wgsl: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = /^const\s+([A-Z][A-Z0-9_]*)\s*:\s*u32\s*=\s*(0x[0-9a-fA-F]+|\d+)u\s*;/gm;
  for (const m of wgsl.matchAll(re)) out.set(m[1], Number(m[2]));
  return out;
}
