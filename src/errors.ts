/**
 * An error caused by what the user gave us (a flag, a sweep file, a trace). The CLI prints
 * `message` on one line and exits with code 2; anything else is a bug and exits with 1.
 */
export class InputError extends Error {
  readonly field: string;
  readonly value: unknown;
  constructor(field: string, value: unknown, reason: string) {
    super(`${field}: ${reason} (got ${formatValue(value)})`);
    this.name = 'InputError';
    this.field = field;
    this.value = value;
  }
}

export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing';
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? s.slice(0, 77) + '...' : s;
  } catch {
    return String(value);
  }
}

/** An InputError that is not about one field's value (an unreadable file, malformed YAML). */
export class InputProblem extends InputError {
  constructor(field: string, message: string) {
    super(field, undefined, message);
    this.message = `${field}: ${message}`;
  }
}
