// Small timings that used to be assertions in tests (tests assert behaviour, never time):
// building a 50,000-request workload, and the sweep size guard refusing a 10^7-configuration
// router axis without expanding it. Median and spread of several runs on this machine.
//   npm run bench:micro [-- --runs 7]
import { parseArgs } from 'node:util';
import { buildWorkload } from '../src/workload/build.ts';
import { expandSweep } from '../src/config/expand.ts';
import { parseSweepText } from '../src/config/sweepFile.ts';
import { InputError } from '../src/errors.ts';
import { makeScenario } from '../test/helpers.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Number(values.runs);

function time(fn: () => void): number[] {
  fn(); // warm-up
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b);
}

const show = (name: string, t: number[]) =>
  console.log(`${name.padEnd(48)} median ${t[Math.floor(t.length / 2)].toFixed(2)} ms  [${t[0].toFixed(2)}, ${t[t.length - 1].toFixed(2)}]  (${runs} runs)`);

show('buildWorkload, 50,000 sharegpt requests', time(() => buildWorkload(makeScenario({ workload: { requests: 50_000, seed: 78 } }).workload)));

const list = `[${Array.from({ length: 100 }, (_, i) => i).join(', ')}]`;
const huge = `axes:\n  router: [{name: br0, a: ${list}, b: ${list}, envelope_frac: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]}]\n  seed: [${list.slice(1, -1)}, 100]\n`;
show('sweep size guard, 10,100,000 configurations', time(() => {
  try {
    expandSweep(parseSweepText(huge, 'huge.yaml'));
    throw new Error('the size guard did not refuse');
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
  }
}));
