// The shared CSV reader (src/formats/csv.ts) used by trace replay and profile calibration.
import { describe, expect, it } from 'vitest';
import { parseCsv, splitCsvLine } from '../../src/formats/csv.ts';

describe('parseCsv', () => {
  it('reads a header and rows with 1-based file line numbers, skipping blank lines', () => {
    const t = parseCsv('\uFEFF\n a , b\r\n1,2\r\n\n3,"x, ""y"""\n')!;
    expect(t.header).toEqual(['a', 'b']);
    expect(t.rows).toEqual([
      { line: 3, cells: ['1', '2'] },
      { line: 5, cells: ['3', 'x, "y"'] },
    ]);
  });

  it('returns null for empty or blank text', () => {
    expect(parseCsv('')).toBeNull();
    expect(parseCsv('\n  \r\n')).toBeNull();
  });

  it('keeps empty cells and unquoted spaces', () => {
    expect(splitCsvLine('1,,"", 2 ')).toEqual(['1', '', '', ' 2 ']);
  });
});
