// Without a GPU: every registered router has a WGSL port, each port names a function of
// shaders/routers.wgsl with the signature the generated route() calls, and the generated tables
// are the TS definitions (router ids, predictor ids, request status codes).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { L } from '../../src/engine/gpu/layout.ts';
import { predictorId, ROUTER_PORTS, routerIdName, routerIdOf, routingSource } from '../../src/engine/gpu/routing.ts';
import { parseU32Constants, simulationSource } from '../../src/engine/gpu/shaderSource.ts';
import { RequestStatus } from '../../src/metrics/requestStatus.ts';
import { ROUTERS, resolveRouterParams } from '../../src/routers/index.ts';
import { PREDICTORS } from '../../src/routers/types.ts';

const ROUTERS_WGSL = readFileSync(new URL('../../shaders/routers.wgsl', import.meta.url), 'utf8');

describe('router ports of the WebGPU engine', () => {
  it('every registered router has a port, and each port function exists with its signature', () => {
    // A router may go without a port (its configurations then run on the CPU engine with its
    // noWgslReason, docs/gpu.md); today none does.
    const unported = Object.values(ROUTERS).filter((d) => d.wgsl === undefined);
    expect(unported.map((d) => d.name)).toEqual([]);
    for (const d of unported) {
      expect(d.noWgslReason, `${d.name} says why it has no port`).toMatch(/no WGSL port/);
      expect(routerIdOf(d.name, resolveRouterParams(d.name, {}))).toBeUndefined();
    }
    for (const [name, def] of Object.entries(ROUTERS).filter(([, d]) => d.wgsl !== undefined)) {
      expect(def.wgsl, `${name} has no wgsl port`).toBeDefined();
      for (const fn of def.wgsl!.fns) {
        const sig = def.wgsl!.prompt ? `fn ${fn}(prompt: u32) -> u32 {` : `fn ${fn}() -> u32 {`;
        expect(ROUTERS_WGSL, `${name}: ${sig}`).toContain(sig);
      }
      expect(routerIdOf(name, resolveRouterParams(name, {}))).toBeDefined();
    }
    expect(ROUTER_PORTS.length).toBe(Object.values(ROUTERS).reduce((n, d) => n + (d.wgsl?.fns.length ?? 0), 0));
  });

  it('ids are distinct and dense, named after the function; br0 picks its variant from the knobs', () => {
    expect(ROUTER_PORTS.map((p) => p.id)).toEqual(ROUTER_PORTS.map((_, i) => i));
    expect(ROUTER_PORTS.find((p) => p.fn === 'routeBr0Int')?.constName).toBe('RT_BR0_INT');
    expect(ROUTER_PORTS.find((p) => p.fn === 'routeFastPhiGauss')?.constName).toBe('RT_FAST_PHI_GAUSS');
    const int = routerIdOf('br0', resolveRouterParams('br0', { a: 1, b: 8 }))!;
    const frac = routerIdOf('br0', resolveRouterParams('br0', { a: 1, b: 0.5 }))!;
    expect(ROUTER_PORTS[int].fn).toBe('routeBr0Int');
    expect(ROUTER_PORTS[frac].fn).toBe('routeBr0Float');
    expect(routerIdName(frac)).toBe('br0 (routeBr0Float)');
    expect(routerIdName(routerIdOf('jsq_load', {})!)).toBe('jsq_load');
    expect(routerIdOf('no_such_router', {})).toBeUndefined();
  });

  it('the generated WGSL holds the TS tables and one route() case per port; the module declares them once', () => {
    const c = parseU32Constants(routingSource());
    for (const p of ROUTER_PORTS) expect(c.get(p.constName)).toBe(p.id);
    for (const p of PREDICTORS) expect(c.get(`PRED_${p.toUpperCase()}`)).toBe(predictorId(p));
    expect(c.get('ST_DONE')).toBe(RequestStatus.COMPLETED);
    expect(c.get('ST_FAILED')).toBe(RequestStatus.FAILED);
    expect(L.ST_DONE).toBe(RequestStatus.COMPLETED);
    expect(routingSource().match(/^    case RT_\w+: \{$/gm)).toHaveLength(ROUTER_PORTS.length);
    const module = simulationSource();
    for (const name of ['fn route(', 'const ST_DONE:', 'const RT_BRH:', 'const PRED_NOISY:']) expect(module.split(name)).toHaveLength(2);
  });
});
