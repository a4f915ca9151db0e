// Router knobs reach WGSL through named slots generated from the routers' knob lists
// (src/engine/gpu/knobs.ts); no GPU needed.
import { describe, expect, it } from 'vitest';
import { KNOB_WORDS, knobSlots, knobSource, knobValue, packKnobs } from '../../src/engine/gpu/knobs.ts';
import { L } from '../../src/engine/gpu/layout.ts';
import { readShader } from '../../src/engine/gpu/shaderSource.ts';
import { ROUTERS, resolveRouterParams } from '../../src/routers/index.ts';

describe('router knob slots', () => {
  it('declare one typed accessor per knob of every router, and the enum values by name', () => {
    const src = knobSource();
    for (const [name, def] of Object.entries(ROUTERS)) {
      def.knobs.forEach((k, i) => {
        const type = k.gpu?.type ?? (k.kind === 'number' ? 'f32' : 'u32');
        expect(src, `${name}.${k.name}`).toContain(`fn knob_${name}_${k.name}() -> ${type} { return ${type === 'f32' ? 'parF' : 'par'}(P_K0 + ${i}u); }`);
      });
    }
    expect(src).toContain('const BR0_ENVELOPE_CAPACITY: u32 = 2u;');
    expect(src).toContain('const VLLM_DEFAULT_ROTATE_YES: u32 = 0u;');
  });

  it('size the knob block for the router with the most knobs, and the horizon table follows it', () => {
    expect(KNOB_WORDS).toBe(Math.max(...Object.values(ROUTERS).map((d) => d.knobs.length)));
    expect(L.P_HZ).toBe(L.P_K0 + KNOB_WORDS);
  });

  it('are the only way routers.wgsl reads knobs (no raw parameter offsets)', () => {
    expect(readShader('routers.wgsl')).not.toMatch(/P_K0/);
  });

  it('pack enums as indices, numbers as f32, integers as u32 and host-computed values (br0 capacity envelope)', () => {
    const words = new Map<number, [string, number]>();
    const put = (f: number, v: number) => words.set(f, ['u32', v]);
    const putF = (f: number, v: number) => words.set(f, ['f32', v]);
    const p = resolveRouterParams('br0', { a: 2, b: 16, envelope: 'capacity', envelope_frac: 0.85 });
    packKnobs('br0', p, { capacityTokens: 100_003, G: 8 }, put, putF, 100);
    expect(knobSlots('br0').map((s) => s.knob.name)).toEqual(['a', 'b', 'envelope', 'envelope_frac', 'hold_ms']);
    expect([...words.entries()].sort((x, y) => x[0] - y[0])).toEqual([
      [100, ['f32', 2]],
      [101, ['f32', 16]],
      [102, ['u32', 2]],
      [103, ['u32', Math.floor(0.85 * 100_003)]],
      [104, ['f32', 0]],
    ]);
    // b = 'G' (the write-up's default) reaches the port as the number of ranks.
    words.clear();
    packKnobs('br0', resolveRouterParams('br0', {}), { capacityTokens: 100_003, G: 12 }, put, putF, 100);
    expect(words.get(101)).toEqual(['f32', 12]);
  });

  it('refuse a word in a numeric knob that has no GPU encoding', () => {
    const knob = { name: 'x', kind: 'number' as const, default: 1, values: ['auto'], description: '' };
    expect(() => knobValue({ offset: 0, type: 'f32', accessor: 'knob_t_x', knob }, { x: 'auto' }, { capacityTokens: 1, G: 1 })).toThrow(/x: auto has no GPU encoding/);
  });
});
