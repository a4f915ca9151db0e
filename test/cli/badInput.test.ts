// Every kind of bad input: one line on stderr naming the field and value, exit code 2, no output file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { cliIn, expectBadInput } from './cli.ts';

// Each case starts the CLI (a second or more on a busy machine).
vi.setConfig({ testTimeout: 60_000 });

const dir = mkdtempSync(join(tmpdir(), 'br-bad-'));
const out = (name: string) => join(dir, `${name}.arrow`);
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('run: bad flags', () => {
  it('unknown router', () => expectBadInput(['run', '--router', 'fastest', '-o', out('r1')], ['router', '"fastest"', 'jsq_load'], out('r1')));
  it('unknown knob', () => expectBadInput(['run', '--router', 'br0', '-k', 'zeta=3', '-o', out('r2')], ['zeta', 'br0'], out('r2')));
  it('knob out of range', () => expectBadInput(['run', '--router', 'fast_phi', '-k', 'K=99'], ['K', '99']));
  it('unknown brh predictor', () =>
    expectBadInput(['run', '--router', 'brh', '-k', 'predictor=psychic', '-o', out('r6')], ['router.predictor', '"psychic"', 'oracle, noisy, median, none'], out('r6')));
  it('fast_phi K outside [1, 64] or full', () => expectBadInput(['run', '--router', 'fast_phi', '-k', 'K=0', '-o', out('r7')], ['router.K', '0', 'full'], out('r7')));
  it('predictor_sigma below 0', () =>
    expectBadInput(['run', '--router', 'brh', '-k', 'predictor=noisy', '-k', 'predictor_sigma=-0.5', '-o', out('r8')], ['router.predictor_sigma', '-0.5'], out('r8')));
  it('sorted_round_robin without per_step dispatch', () =>
    expectBadInput(['run', '--router', 'sorted_round_robin', '-o', out('r9')], ['dispatch', '"on_arrival"', 'needs dispatch: per_step'], out('r9')));
  it('adp_balance with sync: independent', () => expectBadInput(['run', '--admission', 'adp_balance', '--sync', 'independent', '-o', out('r10')], ['admission', '"adp_balance"', 'sync: barrier'], out('r10')));
  it('unknown admission', () => expectBadInput(['run', '--admission', 'fifo'], ['admission', '"fifo"', 'adp_balance']));
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
  it('trace missing a column', async () => {
    const p = file('nocol.csv', 'arrived_at,num_prefill_tokens\n0.1,100\n0.2,200\n');
    await expectBadInput(['run', '--trace', p, '-o', out('t2')], ['output', 'nocol.csv'], out('t2'));
  });
  it('trace with a non-numeric value names the line', async () => {
    const p = file('nan.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0.1,100,20\n0.2,lots,20\n');
    await expectBadInput(['run', '--trace', p, '-o', out('t3')], ['nan.csv:3', 'lots'], out('t3'));
  });
  it('trace with a zero-token request', async () => {
    const p = file('zero.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0.1,100,0\n');
    await expectBadInput(['run', '--trace', p], ['zero.csv', '0']);
  });
});

describe('sweep: bad files', () => {
  it('malformed YAML names the line', async () => {
    const p = file('broken.yaml', 'name: x\naxes:\n  router: [jsq_load, br0\n  dp: [2]\n');
    await expectBadInput(['sweep', p, '-o', out('s1')], ['broken.yaml:'], out('s1'));
  });
  it('malformed JSON names the line', async () => {
    const p = file('broken.json', '{\n  "axes": {\n    "dp": [2,,]\n  }\n}\n');
    await expectBadInput(['sweep', p, '-o', out('s2')], ['broken.json:3'], out('s2'));
  });
  it('bad value in a sweep names the field, value and line', async () => {
    const p = file('neg.yaml', 'axes:\n  router: [jsq_load]\n  rate: [2, -1]\n');
    await expectBadInput(['sweep', p, '-o', out('s3')], ['rate', '-1', 'neg.yaml:3'], out('s3'));
  });
  it('unknown router in a sweep', async () => {
    const p = file('router.yaml', 'axes:\n  router: [jsq_load, magic]\n');
    await expectBadInput(['sweep', p, '-o', out('s4')], ['router', 'magic'], out('s4'));
  });
  it('unknown key in a sweep', async () => {
    const p = file('key.yaml', 'axes:\n  routers: [jsq_load]\n');
    await expectBadInput(['sweep', p, '-o', out('s5')], ['routers'], out('s5'));
  });
  it('unreadable sweep file', () => expectBadInput(['sweep', join(dir, 'missing.yaml'), '-o', out('s6')], ['missing.yaml'], out('s6')));
  it('bad shard', async () => {
    const p = file('ok.yaml', 'base: {requests: 20}\naxes:\n  router: [jsq_load]\n');
    await expectBadInput(['sweep', p, '--shard', '3/2', '-o', out('s7')], ['shard', '3/2'], out('s7'));
  });
  it('capacity smaller than one block in a sweep', async () => {
    const p = file('cap.yaml', 'base: {requests: 20}\naxes:\n  kv_capacity: [4096, 4]\n');
    await expectBadInput(['sweep', p, '-o', out('s8')], ['kv_capacity', '4'], out('s8'));
  });
  it('merge of a file that is not Arrow', async () => {
    const p = file('not.arrow', 'hello');
    await expectBadInput(['merge', p, '-o', out('m1')], ['not.arrow'], out('m1'));
  });
});

// Issue 15, items 5-9: each case failed before (stack trace, exit 1, a silent reading, a
// misleading message); now one line naming the field and value, exit 2, no output.
describe('inputs: parse failures are one line (issue 15, item 5)', () => {
  it('a YAML alias bomb', async () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [i, c] of ['b', 'c', 'd', 'e', 'f', 'g'].entries()) {
      const prev = 'abcdefg'[i];
      levels.push(`${c}: &${c} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const p = file('bomb.yaml', levels.join('\n') + '\n');
    const r = await cliIn(['sweep', p, '-o', out('b1')]);
    expect(r.stderr).not.toMatch(/ReferenceError|internal error|\n\s+at /);
    await expectBadInput(['sweep', p, '-o', out('b1')], ['bomb.yaml', 'alias'], out('b1'));
  });
  it('JSON with a trailing comma is not JSON', async () => {
    const p = file('comma.json', '{\n  "base": {"dp": 2,}\n}\n');
    await expectBadInput(['sweep', p, '-o', out('b2')], ['comma.json:2:', 'trailing comma'], out('b2'));
  });
});

describe('inputs: bad values are quoted briefly (issue 15, item 6)', () => {
  it('a 1 MB trace field gives a short line', async () => {
    const p = file('huge.csv', `arrived_at,num_prefill_tokens,num_decode_tokens\n0.1,${'x'.repeat(1_000_000)},20\n`);
    const r = await cliIn(['run', '--trace', p]);
    expect(r.code).toBe(2);
    expect(r.stderr.length).toBeLessThan(400);
    expect(r.stderr).toContain('1,000,000 characters');
  });
});

describe('inputs: decimal, finite, in range, once (issue 15, item 7)', () => {
  it('--rate 0x10 is not 16', () => expectBadInput(['run', '--rate', '0x10'], ['rate', '"0x10"', 'decimal']));
  it('--rate 1e308 is above the documented bound', () => expectBadInput(['run', '--rate', '1e308'], ['rate', 'at most 1000000', '1e+308']));
  it('.inf and .nan in YAML are reported as written', async () => {
    await expectBadInput(['sweep', file('inf.yaml', 'base:\n  rate: .inf\n'), '-o', out('i1')], ['inf.yaml:2', 'base.rate', 'finite', '(got .inf)']);
    await expectBadInput(['sweep', file('nan.yaml', 'base:\n  cv: .nan\n'), '-o', out('i2')], ['nan.yaml:2', 'base.cv', '(got .nan)']);
  });
  it('a knob given twice', () => expectBadInput(['run', '--router', 'br0', '-k', 'b=1', '-k', 'b=2'], ['router.b', 'twice']));
  it('a flag given twice', () => expectBadInput(['run', '--dp', '2', '--dp', '4'], ['dp', 'twice']));
  it('a trace arrival of 1e300 names the trace, not rate', async () => {
    const p = file('far.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,100,20\n1e300,100,20\n');
    const r = await cliIn(['run', '--trace', p]);
    expect(r.stderr).not.toMatch(/balanceroute: rate/);
    await expectBadInput(['run', '--trace', p], ['trace: ', 'far.csv:3', 'at most 1000000000 s']);
  });
  it('99,999,999,999 tokens is out of range, not "not a whole number"', async () => {
    const p = file('many.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,99999999999,20\n');
    const r = await cliIn(['run', '--trace', p]);
    expect(r.stderr).not.toContain('whole number');
    await expectBadInput(['run', '--trace', p], ['many.csv:2', 'out of range', '99999999999']);
  });
});

describe('inputs: run and sweep share one validation (issue 15, item 8)', () => {
  it('--trace with --workload azure_conv is refused as in a sweep', async () => {
    const p = file('ok.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,100,20\n1,100,20\n');
    await expectBadInput(['run', '--trace', p, '--workload', 'azure_conv', '-o', out('w1')], ['trace', 'workload: trace', 'azure_conv'], out('w1'));
    const s = file('tw.yaml', `base: {trace: ${JSON.stringify(p)}, workload: azure_conv}\n`);
    await expectBadInput(['sweep', s, '-o', out('w2')], ['tw.yaml:1', 'base.trace', 'workload: trace', 'azure_conv'], out('w2'));
  });
});

describe('inputs: a knob that cannot act is refused (issue 15, item 9)', () => {
  it('br0 hold_ms under on_arrival dispatch says it needs per_step', async () => {
    await expectBadInput(['run', '--router', 'br0', '-k', 'hold_ms=200', '-o', out('h1')], ['router.hold_ms', '200', '--dispatch per_step'], out('h1'));
    const s = file('hold.yaml', 'base: {requests: 20}\naxes:\n  router: [{name: br0, hold_ms: [0, 50]}]\n');
    await expectBadInput(['sweep', s, '-o', out('h2')], ['hold.yaml:3', 'axes.router[0].hold_ms', 'per_step'], out('h2'));
  });
  it('runs with --dispatch per_step, and hold_ms=0 under on_arrival', async () => {
    expect((await cliIn(['run', '--router', 'br0', '-k', 'hold_ms=200', '--dispatch', 'per_step', '--requests', '20'])).code).toBe(0);
    expect((await cliIn(['run', '--router', 'br0', '-k', 'hold_ms=0', '--requests', '20'])).code).toBe(0);
  });
});
