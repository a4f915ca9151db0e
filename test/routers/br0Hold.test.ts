// br0's admission control in per_step dispatch: hold a request whose best F = a*s - b*overflow is
// negative, for at most hold_ms, never when not allowed to hold.
import { describe, expect, it } from 'vitest';
import { getRouter, resolveRouterParams } from '../../src/routers/index.ts';
import { HOLD, ROUTER_STATE_WORDS } from '../../src/routers/types.ts';
import { makeView } from './view.ts';

const br0 = getRouter('br0');
const state = new Uint32Array(ROUTER_STATE_WORDS);
const route = (kv: number[], prompt: number, waitedUs: number, canHold: boolean, knobs: Record<string, unknown> = { hold_ms: 50 }) =>
  br0.route(makeView({ kv }), { prompt, waitedUs, canHold }, resolveRouterParams('br0', knobs), state);

describe('br0 hold (admission control)', () => {
  it('admits a request that fits under the envelope', () => {
    // margin of rank 1 = 1000 >= 400: F = s = 400 > 0
    expect(route([1000, 0], 400, 0, true)).toBe(1);
  });
  it('holds a request that would mostly overflow, while it has waited less than hold_ms', () => {
    // G = 2, margin 100, s = 900: F = 900 - 2*800 = -700 < 0
    expect(route([1000, 900], 900, 0, true)).toBe(HOLD);
    expect(route([1000, 900], 900, 49_999, true)).toBe(HOLD);
  });
  it('admits it once it has waited hold_ms', () => expect(route([1000, 900], 900, 50_000, true)).toBe(1));
  it('never holds when it may not (on_arrival, or every rank idle)', () => expect(route([1000, 900], 900, 0, false)).toBe(1));
  it('never holds with hold_ms = 0 (the default)', () => expect(route([1000, 900], 900, 0, true, {})).toBe(1));
  it('never holds without an envelope (E = 0: empty ranks)', () => expect(route([0, 0], 900, 0, true)).toBe(0));
  it('a large reward weight admits it (F = 8*900 - 1*800 > 0)', () => {
    expect(route([1000, 900], 900, 0, true, { hold_ms: 50, a: 8, b: 1 })).toBe(1);
  });
});
