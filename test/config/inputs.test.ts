// Loose or misleading input handling of issue 15 (items 5-9), at the library level.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, InputProblem, formatValue } from '../../src/errors.ts';
import { parseDecimal } from '../../src/decimal.ts';
import { parseSweepText } from '../../src/config/sweepFile.ts';
import { scenarioFromFlat } from '../../src/config/expand.ts';
import { knobFlags } from '../../src/cli/parseFlags.ts';
import { flagsToEntry } from '../../src/cli/runCommand.ts';
import { resolveRouterParams } from '../../src/routers/index.ts';
import { parseTraceFile } from '../../src/workload/traceReader.ts';
import { expandText, inputError } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'br-inputs-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('structured errors, formatted once', () => {
  it('keeps field, reason, value and location apart; at() and in() build new errors', () => {
    const e = new InputError('rate', -3, 'must be > 0');
    expect(e.message).toBe('rate: must be > 0 (got -3)');
    const moved = e.at('axes.rate[2]').in({ file: 'g.yaml', line: 10 });
    expect(moved).toMatchObject({ field: 'axes.rate[2]', reason: 'must be > 0', value: -3, location: { file: 'g.yaml', line: 10 } });
    expect(moved.message).toBe('g.yaml:10: axes.rate[2]: must be > 0 (got -3)');
    expect(moved.in({ file: 'other.yaml', line: 1 })).toBe(moved); // the first location stays
    expect(e.message).toBe('rate: must be > 0 (got -3)'); // unchanged
    expect(new InputProblem('file', 'bad (YAML/JSON syntax)', { file: 's.yaml', line: 4, col: 3 }).message).toBe('s.yaml:4:3: bad (YAML/JSON syntax)');
  });

  it('quotes at most about 80 characters of a value (item 6)', () => {
    const huge = 'x'.repeat(5_000_000);
    const m = new InputError('trace', huge, 'not a number').message;
    expect(m.length).toBeLessThan(140);
    expect(m).toContain('5,000,000 characters');
    expect(formatValue({ a: 'y'.repeat(500) }).length).toBeLessThanOrEqual(80);
    expect(formatValue('short')).toBe('"short"');
  });

  it('cuts user text quoted inside a reason too: a 1 MB trace header, a flag given twice', () => {
    const p = file('wide.csv', `${'h'.repeat(1_000_000)},x\n1,2\n`);
    expect(inputError(() => parseTraceFile({ path: p }), { field: 'trace', says: ['header has: hhh'] }).message.length).toBeLessThan(700);
    expect(inputError(() => knobFlags([`b=${'9'.repeat(100_000)}`, 'b=1'])).message.length).toBeLessThan(400);
  });

  it('spells non-finite numbers as YAML does, not as null (item 7)', () => {
    expect(formatValue(Infinity)).toBe('.inf');
    expect(formatValue(-Infinity)).toBe('-.inf');
    expect(formatValue(NaN)).toBe('.nan');
    expect(formatValue({ rate: Infinity })).toBe('{"rate":".inf"}');
    expect(inputError(() => expandText('base:\n  rate: .inf\n', 'i.yaml')).message).toBe('i.yaml:2: base.rate: must be a finite number (got .inf)');
    expect(inputError(() => expandText('base:\n  cv: .nan\n', 'i.yaml')).message).toBe('i.yaml:2: base.cv: must be a number (got .nan)');
  });
});

describe('parse failures are InputErrors (item 5)', () => {
  it('a YAML alias bomb', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const c of 'bcdef') lines.push(`${c}: &${c} [${Array(10).fill(`*${String.fromCharCode(c.charCodeAt(0) - 1)}`).join(', ')}]`);
    const e = inputError(() => parseSweepText(lines.join('\n'), 'bomb.yaml'));
    expect(e).toBeInstanceOf(InputProblem);
    expect(e.message).toMatch(/^bomb\.yaml: too many YAML alias expansions \(more than 10000\)/);
  });

  it('a few aliases are fine', () => {
    const [s] = expandText('base: &b {dp: 2, requests: 20}\nconfigs:\n  - *b\n');
    expect(s).toMatchObject({ dp: 2 });
  });

  it('JSON must be strict: trailing commas (with line:col) and comments are errors', () => {
    expect(inputError(() => parseSweepText('{"axes": {"dp": [2, 4,]}}', 's.json')).message).toBe('s.json:1:22: trailing comma (not allowed in JSON)');
    expect(inputError(() => parseSweepText('{\n  "base": {\n    "dp": 2,\n  }\n}\n', 's.json')).message).toMatch(/^s\.json:3:12: trailing comma/);
    expect(inputError(() => parseSweepText('{"base": {"dp": 2}} # note\n', 's.json')).message).toMatch(/^s\.json: not valid JSON/);
    // The same text is valid YAML.
    expect(parseSweepText('{"axes": {"dp": [2, 4,]}}', 's.yaml').spec.axes).toEqual([{ key: 'dp', values: [2, 4] }]);
    expect(parseSweepText('{"axes": {"dp": [2, 4]}}', 's.json').spec.axes).toEqual([{ key: 'dp', values: [2, 4] }]);
  });
});

describe('decimal, finite, in range, once (item 7)', () => {
  it('parseDecimal reads decimal numbers only', () => {
    expect([' 3 ', '-0.5', '1e3', '.5', '2.'].map(parseDecimal)).toEqual([3, -0.5, 1000, 0.5, 2]);
    for (const s of ['0x10', '0o7', '0b1', 'Infinity', '', ' ', '1_000', '3abc', 'NaN']) expect(parseDecimal(s), s).toBeUndefined();
  });

  it('flags and knobs take decimal numbers only', () => {
    inputError(() => flagsToEntry({ rate: '0x10' }), { field: 'rate', value: '0x10', says: ['decimal'] });
    inputError(() => resolveRouterParams('br0', { b: '0x10' }), { field: 'router.b', value: '0x10' });
    expect(resolveRouterParams('br0', { b: '16' }).b).toBe(16);
  });

  it('rates up to the documented bound; beyond it an error, not arrivals at time 0', () => {
    expect(scenarioFromFlat({ rate: 1e6 }).workload.rate).toBe(1e6);
    inputError(() => scenarioFromFlat({ rate: 1e308 }), { field: 'rate', says: ['at most 1000000 req/s', '(got 1e+308)'] });
    inputError(() => scenarioFromFlat({ requests: 1e9 }), { field: 'requests', says: ['[1, 10000000]'] });
  });

  it('a knob or flag given twice is an error', () => {
    inputError(() => knobFlags(['b=1', 'b=2']), { field: 'router.b', says: ['-k b=1 and -k b=2'] });
    inputError(() => knobFlags(['name=br0']), { field: 'knob' });
    expect(knobFlags(['a=1', 'b=2', 'envelope=mean'])).toEqual({ a: 1, b: 2, envelope: 'mean' });
  });

  it('trace arrivals far out name the trace and the line; huge token counts are out of range', () => {
    const far = file('far.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,100,20\n1e300,100,20\n');
    inputError(() => parseTraceFile({ path: far }), { field: 'trace', says: ['far.csv:3', 'at most 1000000000 s'] });
    const big = file('big.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,100,99999999999\n');
    const e = inputError(() => parseTraceFile({ path: big }), { field: 'trace', says: ['big.csv:2', 'out of range', '2147483647'] });
    expect(e.message).not.toContain('whole number');
  });
});

describe('run and sweep share one validation (item 8)', () => {
  it('a trace with another workload is an error from flags as from a file', () => {
    const flags = flagsToEntry({ trace: 't.csv', workload: 'azure_conv' });
    inputError(() => scenarioFromFlat(flags), { field: 'trace', says: ['needs `workload: trace`', 'azure_conv'] });
    inputError(() => expandText('base: {trace: t.csv, workload: azure_conv}\n', 'w.yaml'), { field: 'base.trace' });
    expect(scenarioFromFlat(flagsToEntry({ trace: 't.csv' })).workload).toMatchObject({ source: 'trace', rate: 0, requests: 0 });
  });
});

describe('a knob that cannot act is refused (item 9)', () => {
  it('br0 hold_ms needs per_step dispatch', () => {
    inputError(() => scenarioFromFlat({ router: { name: 'br0', hold_ms: 200 } }), { field: 'router.hold_ms', value: 200, says: ['dispatch: per_step', '--dispatch per_step'] });
    expect(scenarioFromFlat({ router: { name: 'br0', hold_ms: 200 }, dispatch: 'per_step' }).routerParams.hold_ms).toBe(200);
    expect(scenarioFromFlat({ router: { name: 'br0', hold_ms: 0 } }).routerParams.hold_ms).toBe(0);
  });

  it('in a sweep, the error points at the knob list element that was written', () => {
    const e = inputError(() => expandText('axes:\n  dispatch: [per_step, on_arrival]\n  router: [{name: br0, hold_ms: [0, 50]}]\n', 'h.yaml'));
    expect(e.message).toMatch(/^h\.yaml:3: axes\.router\[0\]\.hold_ms: acts only with dispatch: per_step/);
    expect(expandText('base: {dispatch: per_step}\naxes:\n  router: [{name: br0, hold_ms: [0, 50]}]\n')).toHaveLength(2);
  });
});

describe('router knobs are checked generically from their KnobSpec', () => {
  it('a new knob (here a made-up integer knob that also takes a word) needs no schema change', async () => {
    const { knobSchema } = await import('../../src/routers/index.ts');
    const k = { name: 'K', kind: 'integer' as const, default: 4, min: 1, max: 8, values: ['full'], description: 'test knob' };
    const s = knobSchema(k);
    expect([s.parse(3), s.parse(' 5 '), s.parse('full')]).toEqual([3, 5, 'full']);
    expect(s.safeParse(9).error?.issues[0].message).toBe('must be in [1, 8] or full');
    expect(s.safeParse(2.5).error?.issues[0].message).toBe('must be an integer or full');
    expect(s.safeParse('0x3').error?.issues[0].message).toBe('must be an integer or full');
    const e = knobSchema({ name: 'mode', kind: 'enum', default: 'yes', values: ['yes', 'no'], description: 'test knob' });
    expect([e.parse(true), e.parse('no')]).toEqual(['yes', 'no']);
    expect(e.safeParse('maybe').error?.issues[0].message).toBe('must be one of yes, no');
  });
});
