// Every kind of bad input: one line on stderr naming the field and value, exit code 2, no output file.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'br-bad-'));
const out = (name: string) => join(dir, `${name}.arrow`);
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

function expectBadInput(args: string[], mentions: string[], output?: string) {
  const r = cli(args);
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  for (const m of mentions) expect(lines[0]).toContain(m);
  expect(r.stdout).toBe('');
  if (output) expect(existsSync(output)).toBe(false);
}

describe('run: bad flags', () => {
  it('unknown router', () => expectBadInput(['run', '--router', 'fastest', '-o', out('r1')], ['router', '"fastest"', 'jsq_load'], out('r1')));
  it('unknown knob', () => expectBadInput(['run', '--router', 'br0', '-k', 'zeta=3', '-o', out('r2')], ['zeta', 'br0'], out('r2')));
  it('knob out of range', () => expectBadInput(['run', '--router', 'fast_phi', '-k', 'K=99'], ['K', '99']));
  it('unknown brh predictor', () =>
    expectBadInput(['run', '--router', 'brh', '-k', 'predictor=psychic', '-o', out('r6')], ['router.predictor', '"psychic"', 'oracle, noisy, median, none'], out('r6')));
  it('fast_phi K outside [1, 64] or full', () => expectBadInput(['run', '--router', 'fast_phi', '-k', 'K=0', '-o', out('r7')], ['router.K', '0', 'full'], out('r7')));
  it('predictor_sigma below 0', () =>
    expectBadInput(['run', '--router', 'brh', '-k', 'predictor=noisy', '-k', 'predictor_sigma=-0.5', '-o', out('r8')], ['router.predictor_sigma', '-0.5'], out('r8')));
  it('zero rate', () => expectBadInput(['run', '--rate', '0', '-o', out('r3')], ['rate', '0'], out('r3')));
  it('negative rate', () => expectBadInput(['run', '--rate', '-2'], ['rate', '-2']));
  it('non-numeric rate', () => expectBadInput(['run', '--rate', 'fast'], ['rate', 'fast']));
  it('dp below 1', () => expectBadInput(['run', '--dp', '0', '-o', out('r4')], ['dp', '0'], out('r4')));
  it('capacity smaller than one block', () => expectBadInput(['run', '--kv-capacity', '8', '-o', out('r5')], ['kv_capacity', '8', 'block'], out('r5')));
  it('unknown flag', () => expectBadInput(['run', '--routr', 'x'], ['--routr']));
  it('bad choice', () => expectBadInput(['run', '--dispatch', 'sometimes'], ['dispatch', 'sometimes']));
  it('unknown model preset', () => expectBadInput(['run', '--model', 'gpt-17'], ['model', 'gpt-17']));
  it('unknown command', () => expectBadInput(['simulate'], ['simulate']));
});

describe('run: bad traces', () => {
  it('unreadable trace file', () => expectBadInput(['run', '--trace', join(dir, 'nope.csv'), '-o', out('t1')], ['trace', 'nope.csv'], out('t1')));
  it('trace missing a column', () => {
    const p = file('nocol.csv', 'arrived_at,num_prefill_tokens\n0.1,100\n0.2,200\n');
    expectBadInput(['run', '--trace', p, '-o', out('t2')], ['output', 'nocol.csv'], out('t2'));
  });
  it('trace with a non-numeric value names the line', () => {
    const p = file('nan.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0.1,100,20\n0.2,lots,20\n');
    expectBadInput(['run', '--trace', p, '-o', out('t3')], ['nan.csv:3', 'lots'], out('t3'));
  });
  it('trace with a zero-token request', () => {
    const p = file('zero.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0.1,100,0\n');
    expectBadInput(['run', '--trace', p], ['zero.csv', '0']);
  });
});

describe('sweep: bad files', () => {
  it('malformed YAML names the line', () => {
    const p = file('broken.yaml', 'name: x\naxes:\n  router: [jsq_load, br0\n  dp: [2]\n');
    expectBadInput(['sweep', p, '-o', out('s1')], ['broken.yaml:'], out('s1'));
  });
  it('malformed JSON names the line', () => {
    const p = file('broken.json', '{\n  "axes": {\n    "dp": [2,,]\n  }\n}\n');
    expectBadInput(['sweep', p, '-o', out('s2')], ['broken.json:3'], out('s2'));
  });
  it('bad value in a sweep names the field, value and line', () => {
    const p = file('neg.yaml', 'axes:\n  router: [jsq_load]\n  rate: [2, -1]\n');
    expectBadInput(['sweep', p, '-o', out('s3')], ['rate', '-1', 'neg.yaml:3'], out('s3'));
  });
  it('unknown router in a sweep', () => {
    const p = file('router.yaml', 'axes:\n  router: [jsq_load, magic]\n');
    expectBadInput(['sweep', p, '-o', out('s4')], ['router', 'magic'], out('s4'));
  });
  it('unknown key in a sweep', () => {
    const p = file('key.yaml', 'axes:\n  routers: [jsq_load]\n');
    expectBadInput(['sweep', p, '-o', out('s5')], ['routers'], out('s5'));
  });
  it('unreadable sweep file', () => expectBadInput(['sweep', join(dir, 'missing.yaml'), '-o', out('s6')], ['missing.yaml'], out('s6')));
  it('bad shard', () => {
    const p = file('ok.yaml', 'base: {requests: 20}\naxes:\n  router: [jsq_load]\n');
    expectBadInput(['sweep', p, '--shard', '3/2', '-o', out('s7')], ['shard', '3/2'], out('s7'));
  });
  it('capacity smaller than one block in a sweep', () => {
    const p = file('cap.yaml', 'base: {requests: 20}\naxes:\n  kv_capacity: [4096, 4]\n');
    expectBadInput(['sweep', p, '-o', out('s8')], ['kv_capacity', '4'], out('s8'));
  });
  it('merge of a file that is not Arrow', () => {
    const p = file('not.arrow', 'hello');
    expectBadInput(['merge', p, '-o', out('m1')], ['not.arrow'], out('m1'));
  });
});
