// Small things a new user meets first: a bare command, singular counts, a report of a sweep in
// which everything failed.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './cli.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'br-small-'));

describe('small things', () => {
  it('balanceroute with no arguments prints the help on stderr and exits 1', () => {
    const r = cli([]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: balanceroute \[options\] \[command\]/);
    expect(r.stderr).toMatch(/\n {2}sweep \[options\] <sweep>/);
  }, 60_000);

  it('one configuration is "1 configuration"', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'one.yaml'), 'name: one\nbase: {requests: 10, dp: 2}\n');
    const r = cli(['sweep', join(dir, 'one.yaml'), '-o', join(dir, 'one.arrow'), '--engine', 'cpu', '--progress', 'none']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\n?1 configuration in /);
    expect(r.stderr).not.toMatch(/1 configurations/);
  }, 60_000);

  it('a sweep where every request fails: no vega warnings, no "best router" at 0 tok/s', () => {
    const dir = tmp();
    // Every request needs more KV than a rank has: all are rejected.
    writeFileSync(join(dir, 'fail.yaml'), 'name: fail\nbase: {requests: 10, dp: 2, kv_capacity: 64, max_output: 200}\naxes:\n  seed: [1, 2]\n  router: [vllm_default, jsq_load]\n');
    expect(cli(['sweep', join(dir, 'fail.yaml'), '-o', join(dir, 'fail.arrow'), '-q', '--engine', 'cpu']).code).toBe(0);
    const r = cli(['report', join(dir, 'fail.arrow')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning|Infinite extent/);
    expect(r.stderr).toMatch(/^sweep report, \d+ charts -> /);
    const html = readFileSync(join(dir, 'fail.html'), 'utf8');
    expect(html).toContain('No verdict: in every cell no router completed a request');
    expect(html).not.toMatch(/<tr data-context/); // no verdict row naming a best router
  }, 90_000);
});
