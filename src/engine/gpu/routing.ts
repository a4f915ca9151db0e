/**
 * Tables the WGSL engine shares with the TypeScript side, generated from their one definition:
 * router ids and the `route()` dispatch (from each router's `wgsl` port in the registry), the
 * predictor ids (from PREDICTORS) and the request status codes (from metrics/requestStatus.ts).
 * The generated source joins the simulation module after layout.wgsl (shaderSource.ts); a new
 * router therefore touches its own TS file and shaders/routers.wgsl only.
 */
import { RequestStatus } from '../../metrics/requestStatus.ts';
import { ROUTERS } from '../../routers/index.ts';
import { PREDICTORS, type Predictor, type RouterParams } from '../../routers/types.ts';

/** One WGSL function that routes, with the id the host writes into P_ROUTER. */
export interface RouterPort {
  router: string;
  fn: string;
  prompt: boolean;
  id: number;
  /** The WGSL constant naming the id: routeBr0Int -> RT_BR0_INT. */
  constName: string;
}

const upperSnake = (camel: string): string => camel.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** Every router port in registry order; ids count from 0. */
export const ROUTER_PORTS: readonly RouterPort[] = Object.values(ROUTERS).flatMap((def) => def.wgsl?.fns.map((fn) => ({ router: def.name, fn, prompt: def.wgsl!.prompt ?? false })) ?? []).map(
  (p, id) => ({ ...p, id, constName: `RT_${upperSnake(p.fn.replace(/^route/, ''))}` }),
);

/** Router id of a router's WGSL port for these knobs; undefined when it has none. */
export function routerIdOf(router: string, params: RouterParams): number | undefined {
  const def = Object.hasOwn(ROUTERS, router) ? ROUTERS[router] : undefined;
  if (!def?.wgsl) return undefined;
  const fn = def.wgsl.fns[def.wgsl.variant?.(params) ?? 0];
  return ROUTER_PORTS.find((p) => p.router === router && p.fn === fn)?.id;
}

/** Name of a router id, for messages: the router, and its variant when it has several. */
export function routerIdName(id: number): string {
  const p = ROUTER_PORTS[id];
  if (!p) return `router ${id}`;
  return (ROUTERS[p.router].wgsl?.fns.length ?? 1) > 1 ? `${p.router} (${p.fn})` : p.router;
}

/** Predictor id (word P_PRED) of the binary-cutoff projection. */
export function predictorId(p: Predictor): number {
  return PREDICTORS.indexOf(p);
}

/** The generated WGSL: status codes, predictor ids, router ids and `route()`. */
export function routingSource(): string {
  const u = (n: number) => `${n}u`;
  const lines = ['// Generated from src/metrics/requestStatus.ts, PREDICTORS and the routers\' `wgsl` ports (src/engine/gpu/routing.ts).'];
  lines.push(`const ST_FUTURE: u32 = ${u(RequestStatus.FUTURE)};`);
  lines.push(`const ST_QUEUED: u32 = ${u(RequestStatus.QUEUED)};`);
  lines.push(`const ST_WAITING: u32 = ${u(RequestStatus.WAITING)};`);
  lines.push(`const ST_RUNNING: u32 = ${u(RequestStatus.RUNNING)};`);
  lines.push(`const ST_DONE: u32 = ${u(RequestStatus.COMPLETED)};`);
  lines.push(`const ST_FAILED: u32 = ${u(RequestStatus.FAILED)};`);
  for (const p of PREDICTORS) lines.push(`const PRED_${p.toUpperCase()}: u32 = ${u(predictorId(p))};`);
  for (const p of ROUTER_PORTS) lines.push(`const ${p.constName}: u32 = ${u(p.id)};`);
  lines.push('', '// The router of the configuration: the pipeline\'s ROUTER, or the id in its parameters.', 'fn route(prompt: u32) -> u32 {');
  lines.push('  let id = select(ROUTER, routerId, ROUTER == RT_FROM_PARAMS);', '  switch (id) {');
  for (const p of ROUTER_PORTS) lines.push(`    case ${p.constName}: {`, `      return ${p.fn}(${p.prompt ? 'prompt' : ''});`, '    }');
  lines.push('    default: {', '      return NONE;', '    }', '  }', '}');
  return lines.join('\n') + '\n';
}
