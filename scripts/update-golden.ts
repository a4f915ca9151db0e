// Regenerates test/fixtures/golden-metrics.json from the CPU engine. Run only when a change to
// the simulation model is intended, and say why in the commit. The fixture comes from the plain
// step-by-step loop (decode fast-forward off), so it does not depend on the fast path it checks.
import { writeFileSync } from 'node:fs';
import { goldenScenarios } from '../test/engine/goldenScenarios.ts';
import { runScenario } from '../src/engine/cpu/runScenario.ts';

const rows = goldenScenarios().map((sc) => {
  const { wall_ms: _, ...m } = runScenario(sc, { fastForward: false }).metrics;
  return { index: sc.index, router: sc.router, dp: sc.dp, metrics: m };
});
writeFileSync(new URL('../test/fixtures/golden-metrics.json', import.meta.url), JSON.stringify(rows, null, 1) + '\n');
console.log(`wrote ${rows.length} rows`);
