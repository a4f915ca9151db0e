// The schema is the one description of a configuration: the docs' tables, the `run` flags and
// the defaults all come from it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withGeneratedTables, keysTable, runFlagsTable } from '../../src/config/docTables.ts';
import { KEYS, SWEEP_KEYS, defaultOf, flagKeys, flagName } from '../../src/config/schema.ts';
import { scenarioFromFlat } from '../../src/config/expand.ts';
import { SCENARIO_DEFAULTS } from '../../src/config/scenario.ts';
import { scenarioOptions } from '../../src/cli/parseFlags.ts';
import { flagsToEntry } from '../../src/cli/runCommand.ts';

const sweepsMd = readFileSync(new URL('../../docs/sweeps.md', import.meta.url), 'utf8');

describe('docs/sweeps.md matches the schema', () => {
  it('its generated tables are up to date (npx tsx scripts/docs-tables.ts)', () => {
    expect(withGeneratedTables(sweepsMd)).toBe(sweepsMd);
  });

  it('lists every key once, with its default', () => {
    const table = keysTable();
    for (const k of SWEEP_KEYS) expect(table.split('\n').filter((l) => l.startsWith(`| \`${k}\` |`))).toHaveLength(1);
    expect(table).toContain('| `dp` | integer 1 … 4096 | 8 |');
    expect(table).toContain('| `rate` | number 0 … 1,000,000 | 3 (profiles), 0 (traces) |');
    expect(runFlagsTable()).toContain('| `--max-num-seqs <n>` | `max_num_seqs` |');
  });
});

describe('run flags come from the schema', () => {
  it('one flag per key with a flag, in schema order, with choices and defaults in the help', () => {
    const opts = scenarioOptions();
    expect(opts.map((o) => o.long)).toEqual(flagKeys().map(flagName));
    const dispatch = opts.find((o) => o.long === '--dispatch')!;
    expect(dispatch.argChoices).toEqual(['on_arrival', 'per_step', 'wave']);
    expect(dispatch.description).toContain('(default: on_arrival)');
    expect(opts.find((o) => o.long === '--dp')!.description).toContain(`(default: ${KEYS.dp.default})`);
    // No commander defaults: a flag not given is absent, and the schema's default applies.
    for (const o of opts) expect(o.defaultValue).toBeUndefined();
  });

  it('no flags = every default of the schema (the defaults live in one place)', () => {
    const s = scenarioFromFlat(flagsToEntry({}));
    expect(flagsToEntry({})).toEqual({});
    expect(s).toMatchObject({
      router: defaultOf('router')!.name,
      dp: defaultOf('dp'),
      maxNumSeqs: defaultOf('max_num_seqs'),
      blockSize: defaultOf('block_size'),
      maxBatchedTokens: defaultOf('max_batched_tokens'),
      statsIntervalMs: defaultOf('stats_interval_ms'),
      dispatch: defaultOf('dispatch'),
      assignOrder: defaultOf('assign_order'),
      timeoutS: defaultOf('timeout_s'),
      timeseries: false,
      model: defaultOf('model'),
    });
    expect(s.workload).toEqual(SCENARIO_DEFAULTS.workload);
    expect(SCENARIO_DEFAULTS).toMatchObject({ dp: 8, maxNumSeqs: 256, blockSize: 16, maxBatchedTokens: 8192, statsIntervalMs: 100, model: 'qwen3-30b-a3b-h100' });
  });

  it('flags map onto keys with decimal numbers', () => {
    expect(flagsToEntry({ dp: '4', maxNumSeqs: '64', traceWindow: '1.5,3', router: 'br0', knob: ['b=16', 'envelope=mean'] })).toEqual({
      dp: 4,
      max_num_seqs: 64,
      trace_window: { start_s: 1.5, end_s: 3 },
      router: { name: 'br0', b: 16, envelope: 'mean' },
    });
    // Knobs alone apply to the default router.
    expect(flagsToEntry({ knob: ['waiting_weight=2'] })).toEqual({ router: { name: 'vllm_default', waiting_weight: 2 } });
  });
});
