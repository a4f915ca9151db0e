import { describe, expect, it } from 'vitest';
import { InputProblem } from '../../src/errors.ts';
import { fieldSegments, parseSweepText } from '../../src/config/sweepFile.ts';
import { expandText, inputError } from './helpers.ts';

describe('syntax errors name file:line:col', () => {
  it('YAML', () => {
    const e = inputError(() => parseSweepText('name: x\naxes:\n  rate: [1, 2\n  dp: [4]\n', 'runs/s.yaml'));
    expect(e).toBeInstanceOf(InputProblem);
    expect(e.field).toBe('file');
    expect(e.message).toMatch(/^runs\/s\.yaml:4:\d+: .*\(YAML\/JSON syntax\)$/);
  });

  it('JSON', () => {
    const e = inputError(() => parseSweepText('{\n  "axes": {\n    "rate": [1,, 2]\n  }\n}\n', 's.json'));
    expect(e.message).toMatch(/^s\.json:3:\d+: /);
  });

  it('duplicate keys', () => {
    expect(inputError(() => parseSweepText('base:\n  dp: 4\n  dp: 8\n', 's.yaml')).message).toMatch(/^s\.yaml:3:3: Map keys must be unique/);
  });

  it('messages are one line', () => {
    const e = inputError(() => parseSweepText('a:\n  - 1\n  - x: 2\n - 3\n', 's.yaml'));
    expect(e.message).not.toContain('\n');
  });
});

describe('bad values name the dotted path and file:line', () => {
  const text = [
    'name: lines', // 1
    'base:', // 2
    '  requests: 100', // 3
    '  max_output: 0', // 4
    'axes:', // 5
    '  router:', // 6
    '    - vllm_default', // 7
    '    - {name: br0, b: [4, -8]}', // 8
    '    - nope', // 9
    '  rate: [1, 2, -3]', // 10
    'configs:', // 11
    '  - {dp: 4}', // 12
    '  - dp: 0', // 13
  ].join('\n');

  const errorFor = (replace: (lines: string[]) => string[]) => inputError(() => expandText(replace(text.split('\n')).join('\n'), 'sw.yaml'));

  it('axis elements', () => {
    const e = errorFor((l) => l.map((x, i) => (i === 3 ? '  max_output: 10' : i === 7 || i === 8 ? '    - jsq_load' : x)));
    expect(e.field).toBe('axes.rate[2]');
    expect(e.value).toBe(-3);
    expect(e.message).toBe("sw.yaml:10: axes.rate[2]: must be > 0 req/s (0 only with workload: trace, to keep the trace's own timing) (got -3)");
  });

  it('knob list elements', () => {
    const e = errorFor((l) => l.map((x, i) => (i === 3 ? '  max_output: 10' : x)));
    expect(e.field).toBe('axes.router[1].b[1]');
    expect(e.message).toMatch(/^sw\.yaml:8: axes\.router\[1\]\.b\[1\]: must be in \[0, 1000000\] or G \(got -8\)$/);
  });

  it('unknown router names', () => {
    const e = errorFor((l) => l.map((x, i) => (i === 3 ? '  max_output: 10' : i === 7 ? '    - jsq_load' : x)));
    expect(e.field).toBe('axes.router[2]');
    expect(e.message).toMatch(/^sw\.yaml:9: axes\.router\[2\]: unknown router; known: .*\(got "nope"\)$/);
  });

  it('base values (checked first)', () => {
    const e = errorFor((l) => l);
    expect(e.message).toBe('sw.yaml:4: base.max_output: must be an integer in [1, 1073741824] (got 0)');
  });

  it('configs entries', () => {
    const e = errorFor((l) => l.map((x, i) => (i === 3 ? '  max_output: 10' : i === 7 || i === 8 ? '    - jsq_load' : i === 9 ? '  rate: [1]' : x)));
    expect(e.message).toBe('sw.yaml:13: configs[1].dp: must be an integer in [1, 4096] (got 0)');
  });

  it('unknown keys, listing the known ones', () => {
    const e = inputError(() => expandText('base:\n  dp: 2\n  max_num_seq: 4\n', 'k.yaml'));
    expect(e.field).toBe('base.max_num_seq');
    expect(e.message).toMatch(/^k\.yaml:3: base\.max_num_seq: unknown key; known keys: router, dp, rate, .*max_num_seqs.*timeseries \(got "max_num_seq"\)$/);
    expect(inputError(() => expandText('basis:\n  dp: 2\n', 'k.yaml')).message).toMatch(/^k\.yaml:1: basis: unknown top-level key; known keys: name, base, axes, configs/);
    expect(inputError(() => expandText('axes:\n  size: [1]\n', 'k.yaml')).message).toMatch(/^k\.yaml:2: axes\.size: unknown key/);
  });

  it('cross-key rules point at the value that came from the file', () => {
    const e = inputError(() => expandText('base:\n  block_size: 32\naxes:\n  kv_capacity: [6400, 6416]\n', 'c.yaml'));
    expect(e.field).toBe('axes.kv_capacity[1]');
    expect(e.message).toMatch(/^c\.yaml:4: axes\.kv_capacity\[1\]: must be a multiple of block_size 32 .*\(got 6416\)$/);
  });

  it('errors from the workload module point at the value', () => {
    const e = inputError(() => expandText('axes:\n  prompt:\n    - {kind: fixed, value: 3}\n    - {kind: lognormal, median: 100, sigma: 40}\n', 'w.yaml'));
    expect(e.field).toBe('axes.prompt[1].sigma');
    expect(e.message).toMatch(/^w\.yaml:4: axes\.prompt\[1\]\.sigma: must be a number in \[0, 10\]/);
    expect(inputError(() => expandText('base:\n  workload: sharegtp\n', 'w.yaml')).message).toMatch(/^w\.yaml:2: base\.workload: unknown workload profile/);
  });

  it('shape errors', () => {
    expect(inputError(() => expandText('axes: [1, 2]\n', 'x.yaml')).message).toMatch(/^x\.yaml:1: axes: must be a mapping/);
    expect(inputError(() => expandText('axes:\n  dp: []\n', 'x.yaml')).message).toMatch(/^x\.yaml:2: axes\.dp: empty list/);
    expect(inputError(() => expandText('configs: []\n', 'x.yaml')).message).toMatch(/^x\.yaml:1: configs: empty list/);
    expect(inputError(() => expandText('configs:\n  - 4\n', 'x.yaml')).message).toMatch(/^x\.yaml:2: configs\[0\]: must be a mapping/);
    expect(inputError(() => expandText('base:\n  rate: [1, 2]\n', 'x.yaml')).message).toMatch(/^x\.yaml:2: base\.rate: expected one value here; lists of values belong under axes/);
    expect(inputError(() => expandText('', 'x.yaml')).message).toMatch(/x\.yaml is empty/);
    expect(inputError(() => expandText('- 1\n', 'x.yaml')).message).toMatch(/must be a mapping/);
  });
});

describe('fieldSegments', () => {
  it('splits dotted paths with indices', () => {
    expect(fieldSegments('axes.router[2].b[10]')).toEqual(['axes', 'router', 2, 'b', 10]);
    expect(fieldSegments('dp')).toEqual(['dp']);
  });
});
