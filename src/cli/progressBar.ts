/**
 * Progress of a long command on stderr. On a terminal: a one-line bar with ETA, redrawn in place.
 * Elsewhere (CI, nohup, a pipe): a plain line every ~10 s, so logs show the run is alive without
 * filling with redraws. `--progress auto|bar|lines|none` picks one; `-q` means none.
 */
export interface ProgressBar {
  update(done: number, total: number): void;
  finish(): void;
}

export const PROGRESS_MODES = ['auto', 'bar', 'lines', 'none'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** Seconds between two progress lines when stderr is not a terminal. */
export const PROGRESS_LINE_INTERVAL_S = 10;

export interface ProgressOptions {
  quiet?: boolean;
  mode?: ProgressMode;
  stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Lines mode: ms between lines (default 10 s). */
  intervalMs?: number;
  /** Clock (ms), for tests. */
  now?: () => number;
  /** What is counted, for lines mode (default `configurations`). */
  unit?: string;
}

export function createProgressBar(label: string, opts: ProgressOptions = {}): ProgressBar {
  const stream = opts.stream ?? process.stderr;
  const mode = opts.quiet ? 'none' : (opts.mode ?? 'auto');
  const resolved = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'none') return { update() {}, finish() {} };
  const now = opts.now ?? Date.now;
  const start = now();
  const status = (done: number, total: number) => {
    const elapsed = (now() - start) / 1000;
    const eta = done > 0 ? (elapsed * (total - done)) / done : NaN;
    const frac = total > 0 ? done / total : 1;
    return { frac, text: `${done}/${total} ${(frac * 100).toFixed(1)}%  ${formatDuration(elapsed)} elapsed  ETA ${formatDuration(eta)}` };
  };
  if (resolved === 'lines') {
    const interval = opts.intervalMs ?? PROGRESS_LINE_INTERVAL_S * 1000;
    let lastLine = start;
    let printed = false;
    let last = { done: 0, total: 0 };
    const unit = opts.unit ?? 'configurations';
    return {
      update(done, total) {
        last = { done, total };
        const t = now();
        if (t - lastLine < interval || done >= total) return;
        lastLine = t;
        printed = true;
        stream.write(`${label}: ${status(done, total).text.replace(' ', ` ${unit} `)}\n`);
      },
      finish() {
        // After interim lines, say that it ended (a short run prints nothing at all).
        if (!printed) return;
        printed = false;
        stream.write(`${label}: ${last.done}/${last.total} ${unit} done in ${formatDuration((now() - start) / 1000)}\n`);
      },
    };
  }
  let lastDraw = 0;
  let drawn = false;
  const draw = (done: number, total: number) => {
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 60));
    const s = status(done, total);
    const filled = Math.round(s.frac * width);
    const bar = '='.repeat(filled) + (filled < width ? '>' : '') + ' '.repeat(Math.max(0, width - filled - 1));
    stream.write(`\r${label} [${bar}] ${s.text}\x1b[K`);
    drawn = true;
  };
  return {
    update(done, total) {
      const t = now();
      if (t - lastDraw < 100 && done < total) return;
      lastDraw = t;
      draw(done, total);
    },
    finish() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
