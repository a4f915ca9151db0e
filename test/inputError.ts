// The one "expect an InputError" helper of the test suite: run something that must fail on bad
// input, check that it threw an InputError (one line; naming the field and value when asked) and
// return it for further checks. Works for synchronous functions and for promises.
import { expect } from 'vitest';
import { InputError, formatValue } from '../src/errors.ts';

export interface Expected {
  /** The field the error must name (`e.field`, and the message's `field: ` unless it is `file`). */
  field?: string;
  /** A value the message must quote (as formatValue writes it). */
  value?: unknown;
  /** Fragments the message must contain. */
  says?: readonly string[];
}

export function inputError(run: () => Promise<unknown>, want?: Expected): Promise<InputError>;
export function inputError(run: () => unknown, want?: Expected): InputError;
export function inputError(run: () => unknown, want: Expected = {}): InputError | Promise<InputError> {
  let out: unknown;
  try {
    out = run();
  } catch (e) {
    return check(e, want);
  }
  if (out instanceof Promise) {
    return out.then(
      () => {
        throw new Error('expected an InputError, but the promise resolved');
      },
      (e: unknown) => check(e, want),
    );
  }
  throw new Error('expected an InputError, but nothing was thrown');
}

/** inputError with the field, value and fragments given positionally (the workload tests' form). */
export function expectInputError(run: () => unknown, field: string, value?: unknown, ...says: string[]): InputError {
  return inputError(run, { field, value, says });
}

function check(e: unknown, want: Expected): InputError {
  expect(e, 'expected an InputError').toBeInstanceOf(InputError);
  const err = e as InputError;
  expect(err.message).not.toContain('\n');
  if (want.field !== undefined) {
    expect(err.field).toBe(want.field);
    if (!err.location) expect(err.message.startsWith(`${want.field}: `), err.message).toBe(true);
  }
  if (want.value !== undefined) expect(err.message).toContain(formatValue(want.value));
  for (const s of want.says ?? []) expect(err.message).toContain(s);
  return err;
}
