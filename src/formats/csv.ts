/**
 * The project's one CSV reader (traces, calibration profiles): a header row, then data rows.
 * Handles a UTF-8 byte-order mark, CRLF line ends, blank lines (skipped) and RFC 4180 quoting
 * within a line (no newlines inside quoted fields: none of the supported formats has them).
 * Cells are returned as strings; callers convert and validate them with their own messages.
 */

export interface CsvTable {
  /** Header cells, trimmed. */
  header: string[];
  /** Data rows: 1-based line number in the file and the raw cells. */
  rows: { line: number; cells: string[] }[];
}

/** Parse CSV text; null when it holds no header (empty or blank). */
export function parseCsv(text: string): CsvTable | null {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  let h = 0;
  while (h < lines.length && lines[h].trim() === '') h++;
  if (h === lines.length) return null;
  const header = splitCsvLine(stripCr(lines[h])).map((s) => s.trim());
  const rows: CsvTable['rows'] = [];
  for (let i = h + 1; i < lines.length; i++) {
    const line = stripCr(lines[i]);
    if (line.trim() === '') continue;
    rows.push({ line: i + 1, cells: splitCsvLine(line) });
  }
  return { header, rows };
}

/** Split one CSV line (RFC 4180 quoting within the line). */
export function splitCsvLine(line: string): string[] {
  if (line.indexOf('"') < 0) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let inQ = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inQ) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          cur += '"';
          i++;
        } else inQ = false;
      } else cur += c;
    } else if (c === '"') inQ = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function stripCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}
