// The reports in a real headless browser (Debian's chromium through playwright-core): no console
// errors, no network requests, every chart has marks, and the verdict table shows the numbers
// that the Arrow file gives when recomputed here.
//
// CI=true: chromium must be installed (.ci/run installs it). Elsewhere the suite is skipped
// with one line when it is missing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { readArrowFile } from '../../src/formats/arrowRead.ts';
import { sweepData } from '../../src/report/sweepData.ts';
import { computeVerdict } from '../../src/report/verdict.ts';
import { cli } from '../cli/cli.ts';
import { GRID, NO_BASELINE, SERIES, tempDir, writeSweep } from './fixtures.ts';

const CHROMIUM = process.env.BALANCEROUTE_CHROMIUM ?? '/usr/bin/chromium';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const T2 = 4.302652729749464; // t(0.975, 2): 3 seeds

if (!HAVE_CHROMIUM && !IN_CI) {
  console.warn(`report browser tests skipped: no ${CHROMIUM} (apt-get install chromium, or set BALANCEROUTE_CHROMIUM; with CI=true a missing browser fails)`);
}

describe.runIf(IN_CI)('browser tests in CI', () => {
  it(`chromium is installed at ${CHROMIUM}`, () => expect(HAVE_CHROMIUM).toBe(true));
});

/** Vega's SVG puts each data mark in a group of class `mark-<type> role-mark`. */
const MARKS = ['line', 'symbol', 'rect', 'area'].map((t) => `svg g.mark-${t}.role-mark path`).concat('svg g.mark-rule.role-mark line').join(', ');
const marksOf = (chart: string, type: string) => `#chart-${chart} svg g.mark-${type}.role-mark path`;

interface Loaded {
  page: Page;
  problems: string[];
}

describe.runIf(HAVE_CHROMIUM)('report in a headless browser', () => {
  const dir = tempDir('br-report-browser-');
  let browser: Browser;

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** Open a report; collect console errors/warnings, page errors and any non-file request. */
  async function open(html: string): Promise<Loaded> {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      problems.push(`network request: ${url}`);
      return route.abort();
    });
    await page.goto(`file://${html}`, { waitUntil: 'load' });
    return { page, problems };
  }

  /** Data marks (not axes, legends or frames) drawn in each chart's SVG, by chart id. */
  async function marksPerChart(page: Page): Promise<Record<string, number>> {
    return page.$$eval('figure.chart', (figs, MARKS) =>
      Object.fromEntries(
        figs.map((f) => [
          f.getAttribute('data-chart')!,
          f.querySelectorAll(MARKS).length,
        ]),
      ),
    MARKS);
  }

  function report(args: string[]): void {
    const r = cli(['report', ...args]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('warning');
  }

  describe('sweep report', () => {
    let loaded: Loaded;
    let arrow: string;
    beforeAll(async () => {
      arrow = (await writeSweep(dir, GRID, 'grid')).results;
      report([arrow, '-o', join(dir, 'grid.html')]);
      loaded = await open(join(dir, 'grid.html'));
      await loaded.page.screenshot({ path: join(dir, 'grid.png'), fullPage: true });
    }, 120_000);

    it('loads without console errors or network requests', () => expect(loaded.problems).toEqual([]));

    it('every chart has marks', async () => {
      const marks = await marksPerChart(loaded.page);
      expect(Object.keys(marks)).toEqual(['capacity-vs-dp', 'throughput_tok_s', 'throughput_gain', 'ttft_p95_ms', 'tpot_mean_ms', 'failed_pct', 'imbalance', 'idle_frac']);
      for (const [id, n] of Object.entries(marks)) expect(n, id).toBeGreaterThan(0);
      // 4 variants x 2 DP panels: one line each in the throughput chart.
      const lines = await loaded.page.$$eval(marksOf('throughput_tok_s', 'line'), (ps) => ps.length);
      expect(lines).toBe(8);
    });

    it('the verdict table equals a recomputation from the Arrow file', async () => {
      const shown = await loaded.page.$$eval('#verdict-table tbody tr', (trs) =>
        trs.map((tr) => ({
          ...(Object.fromEntries(Object.entries((tr as HTMLElement).dataset)) as Record<string, string>),
          cells: [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim()),
        })),
      ) as (Record<string, string> & { cells: string[] })[];
      // Independent recomputation straight from the file's rows.
      const rows = readArrowFile(arrow).rows();
      const label = (r: Record<string, unknown>) => {
        const p = JSON.parse(r.router_params as string) as Record<string, unknown>;
        return r.router === 'br0' ? `br0 b=${p.b}` : (r.router as string);
      };
      const cells = [...new Set(rows.map((r) => `${r.dp}|${r.rate}`))].map((k) => k.split('|').map(Number)).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      expect(shown).toHaveLength(cells.length);
      cells.forEach(([dp, rate], i) => {
        const inCell = rows.filter((r) => r.dp === dp && r.rate === rate);
        const tput = (variant: string, seed: number) => inCell.find((r) => label(r) === variant && r.seed === seed)!.throughput_tok_s as number;
        const variants = [...new Set(inCell.map(label))];
        const seeds = [1, 2, 3];
        const meanOf = (v: string) => seeds.reduce((a, s) => a + tput(v, s), 0) / seeds.length;
        const best = variants.reduce((a, v) => (meanOf(v) > meanOf(a) ? v : a));
        const gains = seeds.map((s) => tput(best, s) / tput('vllm_default', s) - 1);
        const g = gains.reduce((a, x) => a + x, 0) / 3;
        const sd = Math.sqrt(gains.reduce((a, x) => a + (x - g) ** 2, 0) / 2);
        const row = shown[i];
        expect([Number(row.dp), Number(row.rate)]).toEqual([dp, rate]);
        expect(row.best).toBe(best);
        expect(row.baseline).toBe('vllm_default');
        expect(Number(row.bestMean)).toBeCloseTo(meanOf(best), 6);
        expect(Number(row.baselineMean)).toBeCloseTo(meanOf('vllm_default'), 6);
        expect(Number(row.gain)).toBeCloseTo(g, 12);
        expect(Number(row.n)).toBe(3);
        expect(Number(row.lo)).toBeCloseTo(g - (T2 * sd) / Math.sqrt(3), 12);
        expect(Number(row.hi)).toBeCloseTo(g + (T2 * sd) / Math.sqrt(3), 12);
        // The visible cells: DP, rate, best router, tok/s, baseline tok/s, gain, CI, seeds.
        const [tdDp, tdRate, tdBest, tdBestTok, tdBaseTok, tdGain, tdCi, tdSeeds] = row.cells;
        expect([tdDp, tdRate, tdBest, tdSeeds]).toEqual([String(dp), String(rate), best, '3']);
        expect(Number(tdBestTok.replace(/,/g, ''))).toBe(Math.round(meanOf(best)));
        expect(Number(tdBaseTok.replace(/,/g, ''))).toBe(Math.round(meanOf('vllm_default')));
        if (best === 'vllm_default') {
          expect([tdGain, tdCi]).toEqual(['—', '—']);
        } else {
          const pct = (t: string) => Number(t.replace('−', '-').replace('%', '').replace('+', ''));
          const decimals = (t: string) => t.replace('%', '').split('.')[1]?.length ?? 0;
          expect(Math.abs(pct(tdGain) - 100 * g)).toBeLessThanOrEqual(0.5 * 10 ** -decimals(tdGain) + 1e-9);
          const [lo, hi] = tdCi.slice(1, -1).split(', ');
          expect(Math.abs(pct(lo) - 100 * Number(row.lo))).toBeLessThanOrEqual(0.5 * 10 ** -decimals(lo) + 1e-9);
          expect(Math.abs(pct(hi) - 100 * Number(row.hi))).toBeLessThanOrEqual(0.5 * 10 ** -decimals(hi) + 1e-9);
        }
      });
      // And the pure verdict module agrees with the page.
      const data = sweepData(readArrowFile(arrow));
      const v = computeVerdict(data.rows, {}, data.variants);
      expect(v.rows.map((r) => [r.dp, r.rate, r.best, r.gain!.mean])).toEqual(shown.map((s) => [Number(s.dp), Number(s.rate), s.best, Number(s.gain)]));
    });

    it('names the criterion, the axes and the run', async () => {
      const text = await loaded.page.textContent('main');
      expect(text).toContain('highest mean output throughput');
      expect(text).toContain('throughput_tok_s');
      for (const s of ['br0.b', '4, 16', 'engine', 'wall time', '1.23 s', 'balanceroute', 'kv_capacity', 'follows dp']) expect(text).toContain(s);
    });
  });

  describe('a sweep with one DP size, one rate and no vllm_default', () => {
    let loaded: Loaded;
    beforeAll(async () => {
      const arrow = (await writeSweep(dir, NO_BASELINE, 'nobase')).results;
      report([arrow, '-o', join(dir, 'nobase.html')]);
      loaded = await open(join(dir, 'nobase.html'));
    }, 120_000);

    it('draws bars, compares with the first router and says so', async () => {
      expect(loaded.problems).toEqual([]);
      const marks = await marksPerChart(loaded.page);
      for (const [id, n] of Object.entries(marks)) expect(n, id).toBeGreaterThan(0);
      const bars = await loaded.page.$$eval(marksOf('throughput_tok_s', 'rect'), (ps) => ps.length);
      expect(bars).toBe(3);
      expect(await loaded.page.getAttribute('#verdict-table', 'data-baseline')).toBe('jsq_load');
      expect(await loaded.page.textContent('main')).toContain('This sweep has no vllm_default rows');
    });
  });

  describe('time-series report', () => {
    let loaded: Loaded;
    let results: string;
    beforeAll(async () => {
      const w = await writeSweep(dir, SERIES, 'series');
      results = w.results;
      report([w.timeseries, '--results', results, '-o', join(dir, 'series.html')]);
      loaded = await open(join(dir, 'series.html'));
      await loaded.page.screenshot({ path: join(dir, 'series.png'), fullPage: true });
    }, 120_000);

    it('loads cleanly and every chart of every configuration has marks', async () => {
      expect(loaded.problems).toEqual([]);
      const marks = await marksPerChart(loaded.page);
      // The request log beside the series (series-ts.requests.arrow) turns the running strip into a Gantt chart.
      const kinds = ['load', 'barrier', 'idle', 'gantt', 'waiting'];
      expect(Object.keys(marks)).toEqual([0, 1].flatMap((c) => kinds.map((k) => `c${c}-${k}`)));
      for (const [id, n] of Object.entries(marks)) expect(n, id).toBeGreaterThan(0);
      // DP 4: one line per rank plus the max and mean envelope; heat strip: ranks x bins cells.
      expect(await loaded.page.$$eval(marksOf('c0-load', 'line'), (ps) => ps.length)).toBe(4 + 2);
      expect(await loaded.page.$$eval(marksOf('c1-load', 'area'), (ps) => ps.length)).toBe(1); // DP 24: a band
      expect(await loaded.page.$$eval(marksOf('c0-waiting', 'rect'), (ps) => ps.length)).toBe(4 * 300);
    });

    it('the Gantt chart draws one bar per completed request, inside its plot, in a rank lane', async () => {
      const rows = readArrowFile(results).rows();
      for (const c of [0, 1]) {
        const r = rows.find((x) => x.config_index === c)!;
        // Bars (completed requests), in page pixels, and the plot area they must lie in.
        const { bars, plot } = await loaded.page.$eval(`#chart-c${c}-gantt svg`, (svg) => {
          const box = (e: Element) => {
            const b = e.getBoundingClientRect();
            return { x0: b.left, x1: b.right, y0: b.top, y1: b.bottom };
          };
          const frame = svg.querySelector('g.mark-group.role-frame.root > g > path.background');
          return { bars: [...svg.querySelectorAll('g.gantt_done_marks path')].map(box), plot: box(frame!) };
        });
        expect(bars, `config ${c}`).toHaveLength(r.completed as number);
        expect(plot.x1 - plot.x0).toBeGreaterThan(900); // the plot area itself, not an axis group
        expect(plot.y1 - plot.y0).toBeGreaterThan(90);
        const dp = r.dp as number;
        const lane = (plot.y1 - plot.y0) / dp;
        for (const b of bars) {
          expect(b.x0).toBeGreaterThanOrEqual(plot.x0 - 0.5);
          expect(b.x1).toBeLessThanOrEqual(plot.x1 + 0.5);
          const rank = Math.floor(((b.y0 + b.y1) / 2 - plot.y0) / lane);
          expect(rank >= 0 && rank < dp, `rank ${rank}`).toBe(true);
        }
        const caption = await loaded.page.textContent(`#chart-c${c}-gantt figcaption`);
        expect(caption).toContain(`${r.completed} completed`);
      }
      expect(await loaded.page.textContent('main')).toContain('Per-request Gantt charts from the request log');
    });

    it('the summary equals the result file: idle fraction, imbalance, balance ratio, steps', async () => {
      const shown = await loaded.page.$$eval('#series-summary tbody tr', (trs) => trs.map((tr) => ({ ...(tr as HTMLElement).dataset })));
      const rows = readArrowFile(results).rows();
      expect(shown.map((s) => Number(s.config))).toEqual([0, 1]);
      for (const s of shown) {
        const r = rows.find((x) => x.config_index === Number(s.config))!;
        expect(Number(s.idle)).toBeCloseTo(r.idle_frac as number, 12);
        expect(Number(s.imbalance)).toBeCloseTo(r.imbalance as number, 12);
        expect(Number(s.balanceRatio)).toBeCloseTo(r.balance_ratio as number, 12);
        expect(Number(s.steps)).toBe(r.steps);
      }
      expect(await loaded.page.textContent('h2#config-1')).toContain('vllm_default');
      expect(await loaded.page.textContent('h2#config-1')).toContain('DP 24');
    });
  });

  it('screenshots were written', () => {
    expect(readFileSync(join(dir, 'grid.png')).subarray(1, 4).toString()).toBe('PNG');
  });
});
