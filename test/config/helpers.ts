// Helpers for config tests: expand sweep text in memory (InputErrors: ../inputError.ts).
import { expandSweep } from '../../src/config/expand.ts';
import { parseSweepText } from '../../src/config/sweepFile.ts';
import type { Scenario } from '../../src/config/scenario.ts';

export function expandText(text: string, file = 'sweep.yaml'): Scenario[] {
  return expandSweep(parseSweepText(text, file));
}

export { inputError } from '../inputError.ts';
