import { describe, expect, it } from 'vitest';
import { makeDoubleFields } from '../src/doubleFields.ts';
import { EngineCore } from '../src/engine/core/engineCore.ts';
import { makeScenario } from './helpers.ts';
import { resolveStepModel } from '../src/model/presets.ts';

describe('makeDoubleFields', () => {
  it('keeps every value, zeros and negatives included', () => {
    const o = { a: 0, b: -1, c: 2 ** 40, d: 7, name: 'x' };
    makeDoubleFields(o, ['a', 'b', 'c']);
    expect(o).toEqual({ a: 0, b: -1, c: 2 ** 40, d: 7, name: 'x' });
    expect(Object.is(o.a, 0)).toBe(true); // +0, not -0
  });

  it('names a field that is not a number', () => {
    expect(() => makeDoubleFields({ a: 0, name: 'x' }, ['name'])).toThrow('makeDoubleFields: name is not a number field');
    expect(() => makeDoubleFields({ a: 0 }, ['misspelt'])).toThrow('makeDoubleFields: misspelt is not a number field');
  });

  it("lists only fields the engine core has (a renamed field fails at construction)", () => {
    const sc = makeScenario({ router: 'jsq_load', dp: 4 });
    expect(() => new EngineCore(sc, resolveStepModel(sc.model))).not.toThrow();
  });
});
