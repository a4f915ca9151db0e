// Numbers as users write them on the command line: decimal only.

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A number written in decimal (`3`, `-0.5`, `1e3`), or undefined. Hex (`0x10`), octal, binary,
 * `Infinity` and blank strings are not numbers here, whatever JavaScript's Number() says.
 */
export function parseDecimal(raw: string): number | undefined {
  const s = raw.trim();
  return DECIMAL.test(s) ? Number(s) : undefined;
}
