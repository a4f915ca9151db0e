// Prometheus text exposition format (0.0.4, and the OpenMetrics text subset vLLM emits) -> samples.
// Only what a scraper needs: metric name, label map, value. Comments, HELP/TYPE lines,
// timestamps and exemplars are skipped. Malformed lines are reported, not guessed at.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export class ExpositionError extends Error {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'ExpositionError';
  }
}

// [a-zA-Z_:] and [a-zA-Z0-9_:] by character code: a scrape parses every line of every backend's
// exposition every stats interval, and a regex test per character dominated the gateway's CPU.
const isNameStart = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
const isNameChar = (c: number): boolean => isNameStart(c) || (c >= 48 && c <= 57);

/** Parse a whole exposition body. Throws ExpositionError on the first malformed sample line. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const t = line.trim();
    if (t === '' || t[0] === '#') continue;
    out.push(parseSampleLine(t, lineNo));
    if (end === text.length) break;
  }
  return out;
}

function parseSampleLine(s: string, lineNo: number): Sample {
  let i = 0;
  if (!isNameStart(s.charCodeAt(0))) throw new ExpositionError(lineNo, `bad metric name start ${JSON.stringify(s.slice(0, 20))}`);
  while (i < s.length && isNameChar(s.charCodeAt(i))) i++;
  const name = s.slice(0, i);
  const labels: Record<string, string> = {};
  if (s[i] === '{') {
    i++;
    for (;;) {
      while (s[i] === ' ' || s[i] === ',') i++;
      if (s[i] === '}') {
        i++;
        break;
      }
      if (i >= s.length) throw new ExpositionError(lineNo, 'unterminated label set');
      const ls = i;
      while (i < s.length && s[i] !== '=' && s[i] !== ' ') i++;
      const key = s.slice(ls, i);
      while (s[i] === ' ') i++;
      if (s[i] !== '=' || key === '') throw new ExpositionError(lineNo, `bad label near ${JSON.stringify(s.slice(ls, ls + 20))}`);
      i++;
      while (s[i] === ' ') i++;
      if (s[i] !== '"') throw new ExpositionError(lineNo, `label ${key} value is not quoted`);
      i++;
      // Copy runs between escapes in slices: \\ -> \, \" -> ", \n -> newline.
      let v = '';
      let from = i;
      for (;;) {
        if (i >= s.length) throw new ExpositionError(lineNo, `unterminated value of label ${key}`);
        const c = s.charCodeAt(i);
        if (c === 34) {
          v += s.slice(from, i);
          i++;
          break;
        }
        if (c === 92) {
          v += s.slice(from, i);
          const e = s[i + 1];
          if (e === undefined) throw new ExpositionError(lineNo, `unterminated value of label ${key}`);
          v += e === 'n' ? '\n' : e;
          i += 2;
          from = i;
        } else i++;
      }
      labels[key] = v;
    }
  }
  while (s[i] === ' ' || s[i] === '\t') i++;
  let j = i;
  while (j < s.length && s[j] !== ' ' && s[j] !== '\t') j++;
  const value = parseValue(s.slice(i, j));
  if (Number.isNaN(value) && !/^nan$/i.test(s.slice(i, j))) {
    throw new ExpositionError(lineNo, `${name}: value ${JSON.stringify(s.slice(i, j))} is not a number`);
  }
  return { name, labels, value };
}

function parseValue(v: string): number {
  switch (v) {
    case '+Inf':
    case 'Inf':
    case '+inf':
    case 'inf':
      return Infinity;
    case '-Inf':
    case '-inf':
      return -Infinity;
    default:
      return v === '' ? NaN : Number(v);
  }
}
