// The effects buffer of one step: which requests emit their first token or complete when the
// step's tokens are applied as it is scheduled (docs/model.md §7). Written by the rank scheduler
// and the decode sets, read by the engine core; its own module so that neither imports the other.

/**
 * The step's effects when a rank's tokens are applied while it is scheduled (the offline
 * driver's one walk per step): the requests whose first token or completion falls at the step's
 * end, in the order the separate walk of `EngineCore.endStep` would meet them (rank by rank, in
 * running-list order), with their position in the running list.
 */
export interface StepEffects {
  n: number;
  req: Int32Array;
  rank: Int32Array;
  pos: Int32Array;
  /** FIRST_TOKEN | COMPLETES */
  kind: Uint8Array;
}

export const FIRST_TOKEN = 1;
export const COMPLETES = 2;

/** An effects buffer of `size` entries; it grows by doubling (a step has at most one entry per running request). */
export function newStepEffects(size: number): StepEffects {
  size = Math.max(1, size);
  return { n: 0, req: new Int32Array(size), rank: new Int32Array(size), pos: new Int32Array(size), kind: new Uint8Array(size) };
}

export function addEffect(fx: StepEffects, r: number, g: number, pos: number, kind: number): void {
  if (fx.n === fx.req.length) growEffects(fx);
  const k = fx.n++;
  fx.req[k] = r;
  fx.rank[k] = g;
  fx.pos[k] = pos;
  fx.kind[k] = kind;
}

function growEffects(fx: StepEffects): void {
  const size = fx.req.length * 2;
  const i32 = (a: Int32Array) => {
    const b = new Int32Array(size);
    b.set(a);
    return b;
  };
  fx.req = i32(fx.req);
  fx.rank = i32(fx.rank);
  fx.pos = i32(fx.pos);
  const kind = new Uint8Array(size);
  kind.set(fx.kind);
  fx.kind = kind;
}
