// Helpers for config tests: expand sweep text in memory and capture InputErrors.
import { expect } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { expandSweep } from '../../src/config/expand.ts';
import { parseSweepText } from '../../src/config/sweepFile.ts';
import type { Scenario } from '../../src/config/scenario.ts';

export function expandText(text: string, file = 'sweep.yaml'): Scenario[] {
  return expandSweep(parseSweepText(text, file));
}

export function inputError(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}
