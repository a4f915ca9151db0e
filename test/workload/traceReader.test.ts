import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildWorkload } from '../../src/workload/build.ts';
import { clearTraceCache, parseDateTimeUs, parseTraceFile, unitFromName } from '../../src/workload/traceReader.ts';
import type { WorkloadSpec } from '../../src/workload/types.ts';
import { BASE, CODE, CONV, SHAREGPT, expectInputError, removeTempFiles, tempFile } from './helpers.ts';

afterAll(removeTempFiles);

const trace = (path: string, over: Partial<WorkloadSpec> = {}): WorkloadSpec => ({ ...BASE, source: 'trace', tracePath: path, rate: 0, requests: 0, maxOutput: 1 << 20, ...over });

describe('trace replay of the public data files', () => {
  it('reads every row of Azure conv (19,366) with the first arrival at 0', () => {
    const w = buildWorkload(trace(CONV));
    expect(w.n).toBe(19_366);
    expect(w.label).toBe('conv.csv');
    expect(w.arrivalUs[0]).toBe(0);
    expect(w.arrivalUs[1]).toBe(4_314_579); // 4.314579 s
    expect(w.prompt[0]).toBe(374);
    expect(w.output[0]).toBe(44);
    for (let i = 1; i < w.n; i++) expect(w.arrivalUs[i]).toBeGreaterThanOrEqual(w.arrivalUs[i - 1]);
    expect(Math.abs(w.arrivalUs[w.n - 1] / 1e6 - 3501.72)).toBeLessThan(0.01);
  });

  it('reads the Azure code trace (8,819 rows)', () => {
    expect(buildWorkload(trace(CODE)).n).toBe(8_819);
  });

  it('reads the ShareGPT/Qwen3 file (300 rows, ns timestamps made relative)', () => {
    const w = buildWorkload(trace(SHAREGPT));
    expect(w.n).toBe(300);
    expect(w.arrivalUs[0]).toBe(0);
    expect(w.arrivalUs[1]).toBe(Math.round((347_938_951 - 46_926_808) / 1000));
    expect([w.prompt[0], w.output[0]]).toEqual([2361, 532]);
  });

  it('rate rescales to the target mean rate (n-1)/(t_last - t_first)', () => {
    for (const rate of [1, 5.53, 40]) {
      const w = buildWorkload(trace(CONV, { rate }));
      const got = (w.n - 1) / (w.arrivalUs[w.n - 1] / 1e6);
      expect(Math.abs(got / rate - 1)).toBeLessThan(1e-6);
    }
  });

  it('rescaling keeps the shape: times are proportional to the original', () => {
    const a = buildWorkload(trace(SHAREGPT));
    const b = buildWorkload(trace(SHAREGPT, { rate: 20 }));
    const f = b.arrivalUs[299] / a.arrivalUs[299];
    for (let i = 0; i < 300; i++) expect(Math.abs(b.arrivalUs[i] - a.arrivalUs[i] * f)).toBeLessThanOrEqual(1);
    expect(b.prompt).toEqual(a.prompt);
  });

  it('requests takes the first n rows; rate applies to those n', () => {
    const all = buildWorkload(trace(CONV));
    const w = buildWorkload(trace(CONV, { requests: 1000, rate: 10 }));
    expect(w.n).toBe(1000);
    expect(w.prompt).toEqual(all.prompt.slice(0, 1000));
    expect(Math.abs(999 / (w.arrivalUs[999] / 1e6) / 10 - 1)).toBeLessThan(1e-6);
  });

  it('caps outputs at max_output', () => {
    const w = buildWorkload(trace(CONV, { maxOutput: 100 }));
    expect(Math.max(...w.output)).toBe(100);
    expect(w.outputSurvival.length).toBe(101);
  });

  it('asking for more requests than rows names requests, the value and the row count', () => {
    expectInputError(() => buildWorkload(trace(SHAREGPT, { requests: 301 })), 'requests', 301, 'only 300 rows');
  });
});

describe('trace formats and column aliases', () => {
  it('Vidur CSV (arrived_at in s, num_prefill_tokens, num_decode_tokens)', () => {
    const p = tempFile('vidur.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n10.5,100,20\n10.75,200,30\n12.0,300,40\n');
    const w = buildWorkload(trace(p));
    expect([...w.arrivalUs]).toEqual([0, 250_000, 1_500_000]);
    expect([...w.prompt]).toEqual([100, 200, 300]);
    expect([...w.output]).toEqual([20, 30, 40]);
  });

  it('Mooncake JSONL (timestamp in ms, input_length, output_length, extra fields ignored)', () => {
    const p = tempFile('mooncake.jsonl', [
      '{"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47]}',
      '',
      '{"timestamp": 30535, "input_length": 6472, "output_length": 26, "hash_ids": [46]}',
    ].join('\n'));
    const w = buildWorkload(trace(p));
    expect([...w.arrivalUs]).toEqual([0, 3_053_000]);
    expect([...w.prompt]).toEqual([6955, 6472]);
    expect([...w.output]).toEqual([52, 26]);
  });

  it('LLMServingSim JSONL (arrival_time_ns, input_toks, output_toks)', () => {
    const p = tempFile('llmservingsim.jsonl', '{"input_toks": 5, "output_toks": 6, "arrival_time_ns": 1000000}\n{"input_toks": 7, "output_toks": 8, "arrival_time_ns": 3500000}\n');
    const w = buildWorkload(trace(p));
    expect([...w.arrivalUs]).toEqual([0, 2500]);
  });

  it('Azure raw CSV (TIMESTAMP date-times, ContextTokens, GeneratedTokens), CRLF line ends', () => {
    const p = tempFile('azure-raw.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:46.6805900,374,44\r\n2023-11-16 18:15:50.9951690,396,109\r\n2023-11-16 18:16:00.0000000,879,8\r\n');
    const w = buildWorkload(trace(p));
    expect([...w.arrivalUs]).toEqual([0, 4_314_579, 13_319_410]);
    expect([...w.prompt]).toEqual([374, 396, 879]);
  });

  it('BurstGPT CSV (Timestamp in s, "Request tokens", "Response tokens", other columns)', () => {
    const p = tempFile('burstgpt.csv', 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n45,ChatGPT,1087,1,1088,Conversation log\n');
    const w = buildWorkload(trace(p));
    expect([...w.arrivalUs]).toEqual([0, 40_000_000]);
    expect([...w.output]).toEqual([18, 1]);
  });

  it('quoted CSV cells, a BOM and a header with spaces are handled', () => {
    const p = tempFile('quoted.csv', '\ufeff"arrived_at", "num_prefill_tokens" ,num_decode_tokens,note\n0,"12",3,"a, b"\n1,4,5,"say ""hi"""\n');
    const w = buildWorkload(trace(p));
    expect([...w.prompt]).toEqual([12, 4]);
  });

  it('explicit columns and time unit', () => {
    const p = tempFile('custom.csv', 't,in,out\n100,5,6\n300,7,8\n');
    const w = buildWorkload(trace(p, { traceColumns: { arrival: 't', prompt: 'in', output: 'out' }, traceTimeUnit: 'ms' }));
    expect([...w.arrivalUs]).toEqual([0, 200_000]);
    // An explicit unit overrides the unit implied by an alias.
    const v = tempFile('vidur-ms.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,1\n2,1,1\n');
    expect([...buildWorkload(trace(v, { traceTimeUnit: 'ms' })).arrivalUs]).toEqual([0, 2000]);
  });

  it('infers the unit of an explicit arrival column from its name suffix', () => {
    expect(unitFromName('arrival_us')).toBe('us');
    expect(unitFromName('start_ms')).toBe('ms');
    expect(unitFromName('time (s)')).toBe('s');
    expect(unitFromName('t_ns')).toBe('ns');
    expect(unitFromName('arrived_at')).toBe('s');
    expect(unitFromName('when')).toBeUndefined();
    const p = tempFile('suffix.csv', 'send_time_us,prompt_tokens,completion_tokens\n10,5,6\n30,7,8\n');
    expect([...buildWorkload(trace(p, { traceColumns: { arrival: 'send_time_us' } })).arrivalUs]).toEqual([0, 20]);
  });

  it('parses date-times with fractions and offsets', () => {
    expect(parseDateTimeUs('1970-01-01 00:00:01.5')).toBe(1_500_000);
    expect(parseDateTimeUs('1970-01-01T01:00:00+01:00')).toBe(0);
    expect(parseDateTimeUs('yesterday')).toBeNaN();
  });

  it('equal timestamps are allowed (non-decreasing)', () => {
    const p = tempFile('ties.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n1,1,1\n1,2,2\n2,3,3\n');
    expect([...buildWorkload(trace(p)).arrivalUs]).toEqual([0, 0, 1_000_000]);
  });

  it('caches parsed files by path and re-reads a file that changed', () => {
    clearTraceCache();
    const p = tempFile('cached.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,1\n1,2,2\n');
    const a = parseTraceFile({ path: p });
    expect(parseTraceFile({ path: p })).toBe(a);
    tempFile('cached.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,1\n1,2,2\n2,3,3\n');
    expect(parseTraceFile({ path: p }).n).toBe(3);
  });
});

describe('bad traces raise one-line InputErrors naming the field and value', () => {
  const csv = (name: string, body: string) => tempFile(name, body);

  it('unreadable file: the path and the errno code', () => {
    expectInputError(() => buildWorkload(trace('/nonexistent/trace.csv')), 'trace', '/nonexistent/trace.csv', 'ENOENT');
    const dir = mkdtempSync(join(tmpdir(), 'balanceroute-dir-'));
    try {
      expectInputError(() => buildWorkload(trace(dir)), 'trace', dir, 'is a directory, not a regular file');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it.skipIf(process.getuid?.() === 0)('unreadable file: permission denied', () => {
    const p = csv('secret.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,1\n');
    chmodSync(p, 0o000);
    expectInputError(() => buildWorkload(trace(p)), 'trace', p, 'EACCES');
  });

  it('missing trace path', () => {
    expectInputError(() => buildWorkload({ ...BASE, source: 'trace' }), 'trace', undefined, 'trace file');
  });

  it('missing column: names the role and lists the header found', () => {
    const p = csv('nocol.csv', 'arrived_at,foo,num_decode_tokens\n0,1,1\n');
    expectInputError(() => buildWorkload(trace(p)), 'trace', p, 'no prompt column', 'header has: arrived_at, foo, num_decode_tokens', 'trace_columns');
    const q = csv('noarr.csv', 'when,input_toks,output_toks\n0,1,1\n');
    expectInputError(() => buildWorkload(trace(q)), 'trace', q, 'no arrival column', 'header has: when, input_toks, output_toks');
    const o = csv('noout.jsonl', '{"timestamp": 1, "input_length": 4}\n');
    expectInputError(() => buildWorkload(trace(o)), 'trace', o, 'no output column', 'header has: timestamp, input_length');
  });

  it('an explicit column that is not there', () => {
    const p = csv('explicit.csv', 'a,b,c\n0,1,1\n');
    expectInputError(() => buildWorkload(trace(p, { traceColumns: { arrival: 'a', prompt: 'b', output: 'zz' }, traceTimeUnit: 's' })), 'trace_columns.output', 'zz', 'header has: a, b, c');
  });

  it('an arrival column whose unit cannot be told', () => {
    const p = csv('nounit.csv', 'when,in,out\n0,1,1\n');
    expectInputError(() => buildWorkload(trace(p, { traceColumns: { arrival: 'when', prompt: 'in', output: 'out' } })), 'trace_time_unit', undefined, '"when"');
    expectInputError(() => buildWorkload(trace(p, { traceTimeUnit: 'h' as never })), 'trace_time_unit', 'h');
  });

  it('non-numeric values: file:line, column and value', () => {
    const p = csv('nan.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,1\n1,abc,1\n');
    expectInputError(() => buildWorkload(trace(p)), 'trace', 'abc', `${p}:3`, 'prompt column "num_prefill_tokens"', 'not a number');
    const q = csv('nan2.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,1\nsoon,1,1\n');
    expectInputError(() => buildWorkload(trace(q)), 'trace', 'soon', `${q}:3`, 'arrival column "arrived_at"');
    const r = csv('short.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,1\n1,2\n');
    expectInputError(() => buildWorkload(trace(r)), 'trace', '', `${r}:3`, 'output column "num_decode_tokens" is missing');
    const j = csv('nan.jsonl', '{"timestamp": 0, "input_length": 3, "output_length": null}\n');
    expectInputError(() => buildWorkload(trace(j)), 'trace', null, `${j}:1`, 'output column "output_length"');
    const d = csv('baddate.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,1,1\nlater,1,1\n');
    expectInputError(() => buildWorkload(trace(d)), 'trace', 'later', `${d}:3`, 'date-time');
  });

  it('zero, negative and fractional token counts: file:line, column and value', () => {
    const p = csv('zero.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,1\n1,0,5\n');
    expectInputError(() => buildWorkload(trace(p)), 'trace', '0', `${p}:3`, 'prompt column "num_prefill_tokens"', 'at least 1 token');
    const q = csv('neg.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,-3\n');
    expectInputError(() => buildWorkload(trace(q)), 'trace', '-3', `${q}:2`, 'output column "num_decode_tokens"');
    // BurstGPT logs failed requests with 0 response tokens: they are skipped, so a file of
    // failures only has no requests (traceReaderFormats.test.ts covers the skipping).
    const b = csv('burst-fail.csv', 'Timestamp,Request tokens,Response tokens\n0,10,0\n');
    expectInputError(() => buildWorkload(trace(b)), 'trace', b, 'no successful requests', '0 Response tokens');
    const f = csv('frac.jsonl', '{"timestamp": 0, "input_length": 2.5, "output_length": 1}\n');
    expectInputError(() => buildWorkload(trace(f)), 'trace', 2.5, `${f}:1`, 'whole number');
  });

  it('arrival times that go backwards: file:line', () => {
    const p = csv('unsorted.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,1\n5,1,1\n4,1,1\n');
    expectInputError(() => buildWorkload(trace(p)), 'trace', '4', `${p}:4`, 'goes backwards', 'sorted');
  });

  it('empty traces', () => {
    const e = csv('empty.csv', '');
    expectInputError(() => buildWorkload(trace(e)), 'trace', e, 'empty');
    const h = csv('header-only.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n\n');
    expectInputError(() => buildWorkload(trace(h)), 'trace', h, 'no requests');
    const j = csv('empty.jsonl', '\n\n');
    expectInputError(() => buildWorkload(trace(j)), 'trace', j, 'empty');
  });

  it('malformed JSON lines', () => {
    const p = csv('bad.jsonl', '{"timestamp": 0, "input_length": 1, "output_length": 1}\n{"timestamp": 1, \n');
    expectInputError(() => buildWorkload(trace(p)), 'trace', '{"timestamp": 1,', `${p}:2`, 'not valid JSON');
    const a = csv('array.jsonl', '{"timestamp": 0, "input_length": 1, "output_length": 1}\n[1, 2]\n');
    expectInputError(() => buildWorkload(trace(a)), 'trace', [1, 2], `${a}:2`, 'JSON object');
    const arr = csv('array.json', '[{"timestamp": 0}]');
    expectInputError(() => buildWorkload(trace(arr)), 'trace', arr, 'JSON Lines');
  });

  it('rate rescale of a trace whose arrivals share one timestamp', () => {
    const p = csv('same.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n3,1,1\n3,1,1\n');
    expectInputError(() => buildWorkload(trace(p, { rate: 2 })), 'rate', 2, 'share one timestamp');
  });

  it('trace numbers: negative rate, fractional requests, length overrides', () => {
    const p = csv('ok.csv', 'arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,1\n1,1,1\n');
    expectInputError(() => buildWorkload(trace(p, { rate: -1 })), 'rate', -1);
    expectInputError(() => buildWorkload(trace(p, { requests: 1.5 })), 'requests', 1.5);
    expectInputError(() => buildWorkload(trace(p, { prompt: { kind: 'fixed', value: 3 } })), 'prompt', { kind: 'fixed', value: 3 });
    expectInputError(() => buildWorkload(trace(p, { traceColumns: { arrival: 3 as never } })), 'trace_columns.arrival', 3);
  });
});
