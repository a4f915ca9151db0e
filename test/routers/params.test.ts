import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inputError } from '../inputError.ts';
import { alwaysInteger, defineRouter } from '../../src/routers/common.ts';
import { buildRegistry, getRouter, resolveRouterParams, ROUTERS, routerNames } from '../../src/routers/index.ts';

const ROUTERS_DIR = new URL('../../src/routers/', import.meta.url);

/** Router names defined in the sources of src/routers/, read as text (not through the registry). */
function routersInSources(): string[] {
  const names: string[] = [];
  for (const f of readdirSync(ROUTERS_DIR).filter((f) => f.endsWith('.ts'))) {
    const src = readFileSync(new URL(f, ROUTERS_DIR), 'utf8');
    for (const m of src.matchAll(/= defineRouter\(\{\s*name: '(\w+)'/g)) names.push(m[1]);
  }
  return names;
}

describe('registry', () => {
  it('registers every router its folder defines, under its own name', () => {
    expect(routerNames().slice().sort()).toEqual(routersInSources().sort());
    for (const n of routerNames()) {
      expect(ROUTERS[n].name).toBe(n);
      expect(ROUTERS[n].description.length).toBeGreaterThan(10);
    }
  });

  it('keeps the built-in routers in their order (listings, GPU ids and result columns follow it)', () => {
    const builtIn = ['round_robin', 'random', 'power_of_two', 'vllm_default', 'vllm_inflight', 'jsq_load', 'br0', 'brh', 'fast_phi', 'fast_phi_gauss', 'sorted_round_robin'];
    expect(routerNames().filter((n) => builtIn.includes(n))).toEqual(builtIn);
    // Registry order: by `order`, then routers without one by name.
    const key = (n: string) => ROUTERS[n].order ?? Infinity;
    const names = routerNames();
    for (let i = 1; i < names.length; i++) {
      const [a, b] = [names[i - 1], names[i]];
      expect(key(a) < key(b) || (key(a) === Infinity && key(b) === Infinity && a < b), `${a} before ${b}`).toBe(true);
    }
  });

  it('orders modules by `order`, then by name; a repeated name or order is an error', () => {
    const def = (name: string, order?: number) => defineRouter({ name, order, description: name, integerScored: alwaysInteger, route: () => 0 });
    const [z, a, b, c] = [def('z', 5), def('a'), def('b', 7), def('c')];
    // The same definition exported twice (a re-export) counts once; plain values are not routers.
    expect(Object.keys(buildRegistry([{ c, a }, { b, z, again: z, n: 3, plain: { name: 'x', route: () => 0 } }]))).toEqual(['z', 'b', 'a', 'c']);
    expect(() => buildRegistry([{ a }, { a2: def('a') }])).toThrow('two routers are named a');
    expect(() => buildRegistry([{ z }, { y: def('y', 5) }])).toThrow('routers y and z both have order 5');
  });

  it('rejects unknown routers (and Object.prototype names)', () => {
    expect(inputError(() => getRouter('nope', 'sweep.router')).message).toMatch(/^sweep\.router: unknown router; known: .*jsq_load.*\(got "nope"\)/);
    expect(inputError(() => getRouter('toString')).field).toBe('router');
  });

  it('every knob default passes its own validation', () => {
    for (const n of routerNames()) {
      for (const k of ROUTERS[n].knobs) {
        expect(k.description.length, `${n}.${k.name}`).toBeGreaterThan(5);
        expect(resolveRouterParams(n, { [k.name]: k.default })[k.name]).toBe(k.default);
      }
    }
  });
});

describe('resolveRouterParams', () => {
  it('fills defaults in declared order', () => {
    expect(resolveRouterParams('br0', {})).toEqual({ a: 1, b: 'G', envelope: 'max', envelope_frac: 0.9, hold_ms: 0 });
    expect(resolveRouterParams('brh', { beta: 4 })).toEqual({ H: 50, gamma: 0.9, alpha: 1, beta: 4, predictor: 'median', predictor_sigma: 0.5 });
    expect(resolveRouterParams('vllm_default', { waiting_weight: 2 })).toEqual({ waiting_weight: 2, rotate: 'yes' });
    expect(resolveRouterParams('fast_phi', { K: '6' })).toEqual({ K: 6, lambda: 0 });
    expect(resolveRouterParams('fast_phi_gauss', { K: '6' })).toEqual({ H: 64, K: 6, discount: 1 });
    expect(resolveRouterParams('round_robin', {})).toEqual({});
    expect(resolveRouterParams('jsq_load', undefined)).toEqual({});
  });

  it('accepts numeric strings and yes/no booleans', () => {
    expect(resolveRouterParams('brh', { gamma: ' 0.9 ', H: '16' })).toMatchObject({ gamma: 0.9, H: 16 });
    expect(resolveRouterParams('br0', { b: ' G ' }).b).toBe('G');
    expect(resolveRouterParams('br0', { b: '12' }).b).toBe(12);
    expect(resolveRouterParams('vllm_default', { rotate: false }).rotate).toBe('no');
  });

  it('rejects unknown knobs, naming field, knob, value and the known knobs', () => {
    const e = inputError(() => resolveRouterParams('br0', { c: 3 }, 'routers[2]'));
    expect(e.field).toBe('routers[2].c');
    expect(e.value).toBe(3);
    expect(e.message).toBe('routers[2].c: unknown knob for br0; known: a, b, envelope, envelope_frac, hold_ms (got 3)');
    expect(inputError(() => resolveRouterParams('random', { seed: 1 })).message).toMatch(/router\.seed: unknown knob for random; known: \(none\)/);
  });

  it('rejects non-integers for integer knobs', () => {
    const e = inputError(() => resolveRouterParams('brh', { H: 2.5 }));
    expect(e.field).toBe('router.H');
    expect(e.message).toMatch(/router\.H: must be an integer \(got 2\.5\)/);
    expect(inputError(() => resolveRouterParams('fast_phi', { K: '3.0x' })).message).toMatch(/router\.K: .*\(got "3\.0x"\)/);
  });

  it('rejects out-of-range values', () => {
    expect(inputError(() => resolveRouterParams('fast_phi_gauss', { K: 9 })).message).toMatch(/router\.K: must be in \[1, 8\] \(got 9\)/);
    expect(inputError(() => resolveRouterParams('fast_phi', { K: 0 })).field).toBe('router.K');
    expect(inputError(() => resolveRouterParams('vllm_inflight', { kv_threshold: 1.5 })).message).toMatch(/router\.kv_threshold.*1\.5/);
    expect(inputError(() => resolveRouterParams('brh', { H: -1 })).field).toBe('router.H');
    expect(inputError(() => resolveRouterParams('br0', { b: -1 })).field).toBe('router.b');
  });

  it('rejects wrong types and bad enum values', () => {
    expect(inputError(() => resolveRouterParams('br0', { a: 'lots' })).message).toMatch(/router\.a: must be a number \(got "lots"\)/);
    expect(inputError(() => resolveRouterParams('br0', { a: null })).field).toBe('router.a');
    expect(inputError(() => resolveRouterParams('br0', { a: Infinity })).field).toBe('router.a');
    expect(inputError(() => resolveRouterParams('br0', { envelope: 'median' })).message).toMatch(
      /router\.envelope: must be one of max, mean, capacity \(got "median"\)/,
    );
    expect(inputError(() => resolveRouterParams('brh', { predictor: true })).field).toBe('router.predictor');
    expect(inputError(() => resolveRouterParams('br0', { envelope: true })).field).toBe('router.envelope');
    expect(inputError(() => resolveRouterParams('br0', [1, 2] as unknown as Record<string, unknown>)).field).toBe('router');
  });
});

describe('bad input for the write-up routers (one line naming field and value)', () => {
  it('unknown predictor', () => {
    expect(inputError(() => resolveRouterParams('brh', { predictor: 'psychic' })).message).toBe(
      'router.predictor: must be one of oracle, noisy, median, none (got "psychic")',
    );
  });
  it('K outside its range, or a word other than full', () => {
    expect(inputError(() => resolveRouterParams('fast_phi', { K: 65 })).message).toBe('router.K: must be in [1, 64] or full (got 65)');
    expect(inputError(() => resolveRouterParams('fast_phi', { K: 0 })).message).toBe('router.K: must be in [1, 64] or full (got 0)');
    expect(inputError(() => resolveRouterParams('fast_phi', { K: 2.5 })).message).toBe('router.K: must be an integer or full (got 2.5)');
    expect(inputError(() => resolveRouterParams('fast_phi', { K: 'all' })).message).toBe('router.K: must be an integer or full (got "all")');
  });
  it('predictor_sigma below 0', () => {
    expect(inputError(() => resolveRouterParams('brh', { predictor_sigma: -0.1 })).message).toBe('router.predictor_sigma: must be in [0, 10] (got -0.1)');
  });
  it('br0 b is a number >= 0 or G', () => {
    expect(inputError(() => resolveRouterParams('br0', { b: 'g' })).message).toBe('router.b: must be a number or G (got "g")');
    expect(inputError(() => resolveRouterParams('br0', { b: -1 })).field).toBe('router.b');
  });
});
