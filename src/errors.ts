/**
 * An error caused by what the user gave us (a flag, a sweep file, a trace). It is structured —
 * the field (a dotted path such as `axes.rate[2]`), the reason, the value and, for files, where
 * it was written — and `message` is built from those parts by `formatInputError`, the one place
 * that formats them. The CLI prints `message` on one line and exits with code 2; anything else
 * is a bug and exits with 1.
 */
export interface SourceLocation {
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  col?: number;
}

export class InputError extends Error {
  readonly field: string;
  readonly value: unknown;
  /** The rule that was broken, without field, value or location. */
  readonly reason: string;
  /** False for problems that are not about one value (an unreadable file, malformed YAML). */
  readonly hasValue: boolean;
  readonly location: SourceLocation | undefined;

  constructor(field: string, value: unknown, reason: string, opts: { hasValue?: boolean; location?: SourceLocation } = {}) {
    const hasValue = opts.hasValue ?? true;
    super(formatInputError(field, value, reason, hasValue, opts.location));
    this.name = 'InputError';
    this.field = field;
    this.value = value;
    this.reason = reason;
    this.hasValue = hasValue;
    this.location = opts.location;
  }

  /** The same problem reported for another (usually more precise) field. */
  at(field: string): InputError {
    return new InputError(field, this.value, this.reason, { hasValue: this.hasValue, location: this.location });
  }

  /** The same problem with the place it was written; an error that already has one keeps it. */
  in(location: SourceLocation): InputError {
    if (this.location) return this;
    return new InputError(this.field, this.value, this.reason, { hasValue: this.hasValue, location });
  }
}

/** An InputError that is not about one field's value (an unreadable file, malformed YAML). */
export class InputProblem extends InputError {
  constructor(field: string, reason: string, location?: SourceLocation) {
    super(field, undefined, reason, { hasValue: false, location });
    this.name = 'InputError';
  }

  override at(field: string): InputError {
    return new InputProblem(field, this.reason, this.location);
  }

  override in(location: SourceLocation): InputError {
    return this.location ? this : new InputProblem(this.field, this.reason, location);
  }
}

/**
 * `file:line: field: reason (got value)`. A syntax error, which has a location but no field of its
 * own (field `file`), reads `file:line:col: reason`.
 */
export function formatInputError(field: string, value: unknown, reason: string, hasValue: boolean, loc?: SourceLocation): string {
  const where = loc ? `${loc.file}${loc.line !== undefined ? `:${loc.line}${loc.col !== undefined ? `:${loc.col}` : ''}` : ''}: ` : '';
  const what = loc && field === 'file' ? '' : `${field}: `;
  const got = hasValue ? ` (got ${formatValue(value)})` : '';
  return `${where}${what}${reason}${got}`.replace(/[\r\n]+/g, ' ');
}

/** At most this many characters of a bad value are quoted in a message. */
export const MAX_QUOTED = 80;

/**
 * A value as the user wrote it, for messages: strings quoted, YAML's `.inf`/`.nan` spelled as in
 * YAML, and anything long cut to about MAX_QUOTED characters with its full length said.
 */
export function formatValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'string') {
    if (value.length <= MAX_QUOTED - 2) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, MAX_QUOTED - 10))}... (${value.length.toLocaleString('en-US')} characters)`;
  }
  let s: string;
  try {
    s = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? formatNumber(v) : v)) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > MAX_QUOTED ? s.slice(0, MAX_QUOTED - 3) + '...' : s;
}

/** Text from the user inside a reason (a header line, a flag's text), cut to about MAX_QUOTED characters. */
export function brief(text: string, max = MAX_QUOTED): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

function formatNumber(x: number): string {
  if (Number.isNaN(x)) return '.nan';
  if (x === Infinity) return '.inf';
  if (x === -Infinity) return '-.inf';
  return String(x);
}
