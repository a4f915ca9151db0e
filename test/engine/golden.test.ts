// Pins the CPU engine's results: optimisations must not change a single number.
// Regenerate with `npx tsx scripts/update-golden.ts` only for an intended model change.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/engine/cpu/runScenario.ts';
import { goldenScenarios } from './goldenScenarios.ts';

const golden = JSON.parse(readFileSync(new URL('../fixtures/golden-metrics.json', import.meta.url), 'utf8')) as {
  index: number;
  router: string;
  dp: number;
  metrics: Record<string, number>;
}[];

describe('golden results of the CPU engine', () => {
  const scenarios = goldenScenarios();
  it('covers every configuration', () => expect(golden).toHaveLength(scenarios.length));
  for (const sc of scenarios) {
    it(`#${sc.index} ${sc.router} dp=${sc.dp} ${sc.dispatch}`, () => {
      const { wall_ms: _, ...m } = runScenario(sc).metrics;
      // JSON has no NaN (a metric over zero requests): compare through JSON.
      expect(JSON.parse(JSON.stringify(m))).toEqual(golden[sc.index].metrics);
    });
  }
});
