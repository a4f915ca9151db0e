/**
 * A one-line progress bar with ETA on a TTY (stderr); silent when stderr is not a terminal or
 * when quiet, so piped output and logs stay clean.
 */
export interface ProgressBar {
  update(done: number, total: number): void;
  finish(): void;
}

export function createProgressBar(label: string, opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): ProgressBar {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet || !stream.isTTY) return { update() {}, finish() {} };
  const start = Date.now();
  let lastDraw = 0;
  let drawn = false;
  const draw = (done: number, total: number) => {
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 60));
    const frac = total > 0 ? done / total : 1;
    const filled = Math.round(frac * width);
    const elapsed = (Date.now() - start) / 1000;
    const eta = done > 0 ? (elapsed * (total - done)) / done : NaN;
    const bar = '='.repeat(filled) + (filled < width ? '>' : '') + ' '.repeat(Math.max(0, width - filled - 1));
    const line = `${label} [${bar}] ${done}/${total} ${(frac * 100).toFixed(1)}%  ${formatDuration(elapsed)} elapsed  ETA ${formatDuration(eta)}`;
    stream.write(`\r${line}\x1b[K`);
    drawn = true;
  };
  return {
    update(done, total) {
      const now = Date.now();
      if (now - lastDraw < 100 && done < total) return;
      lastDraw = now;
      draw(done, total);
    },
    finish() {
      if (drawn) stream.write('\n');
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
