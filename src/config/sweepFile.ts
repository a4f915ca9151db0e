// Reading sweep files (YAML or JSON) into a SweepSpec, keeping source positions so that errors
// about values can say `file:line`. Format: docs/sweeps.md.

import { readInputText } from '../formats/inputFile.ts';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import { InputError, InputProblem, type SourceLocation } from '../errors.ts';
import { fieldSegments } from './fieldPath.ts';
import { SWEEP_FILE_KEYS, type FieldPath, type SweepEntry, type SweepKey, type SweepSpec } from './sweepSchema.ts';
import { sweepFileSchema } from './schema.ts';
import { isPlainObject, parseValue } from './validate.ts';

/** A parsed sweep file and a way to find where a field was written. */
export interface SweepSource {
  spec: SweepSpec;
  /** 1-based line of a dotted field such as `axes.rate[2]` (or of its nearest written parent). */
  lineOf(field: FieldPath): number | undefined;
}

const EXTENSIONS = /\.(ya?ml|json)$/i;

export function readSweepFile(file: string): SweepSource {
  if (!EXTENSIONS.test(file)) throw new InputError('file', file, 'a sweep file must end in .yaml, .yml or .json');
  let text: string;
  try {
    text = readInputText(file, 'file', 'text', 'sweep file');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError('file', file, `cannot read the sweep file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseSweepText(text, file);
}

/** YAML aliases expanded per file at most (a guard against "billion laughs" alias bombs). */
export const MAX_ALIAS_COUNT = 10_000;

/** Parse sweep text (YAML; JSON is read as the YAML subset it is). `file` names it in messages. */
export function parseSweepText(text: string, file: string): SweepSource {
  const lines = new LineCounter();
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { file, line, col };
  };
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    throw new InputProblem('file', `${err.message.split('\n')[0]} (YAML/JSON syntax)`, at(err.pos[0]));
  }
  if (/\.json$/i.test(file)) checkStrictJson(doc, text, file, at);
  const lineOf = (field: FieldPath) => {
    const offset = offsetOf(doc, field);
    return offset === undefined ? undefined : lines.linePos(offset).line;
  };
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    // The yaml package throws a ReferenceError past maxAliasCount; that is the user's file.
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      throw new InputProblem('file', `too many YAML alias expansions (more than ${MAX_ALIAS_COUNT}); write the values out or use fewer aliases`, { file });
    }
    throw e;
  }
  try {
    return { spec: toSpec(root, file), lineOf };
  } catch (e) {
    throw withLocation(e, file, lineOf);
  }
}

/**
 * JSON files are parsed by the YAML reader (for line numbers), which accepts more than JSON:
 * a trailing comma, comments, unquoted strings. A .json file must be strict JSON.
 */
function checkStrictJson(doc: Document, text: string, file: string, at: (offset: number) => SourceLocation): void {
  const trailing = trailingComma(doc.contents, text);
  if (trailing !== undefined) throw new InputProblem('file', 'trailing comma (not allowed in JSON)', at(trailing));
  try {
    JSON.parse(text);
  } catch (e) {
    throw new InputProblem('file', `not valid JSON: ${String((e as Error).message).split('\n')[0]}`, { file });
  }
}

/** Offset of a comma after the last item of a flow collection (`[1, 2,]`, `{"a": 1,}`), if any. */
function trailingComma(node: unknown, text: string): number | undefined {
  if (!isMap(node) && !isSeq(node)) return undefined;
  const items = node.items as unknown[];
  for (const item of items) {
    const inner = isPair(item) ? item.value : item;
    const found = trailingComma(inner, text);
    if (found !== undefined) return found;
  }
  const last = items.at(-1);
  const end = node.range?.[1];
  const lastNode = (isPair(last) ? (last.value ?? last.key) : last) as Node | null | undefined;
  const lastEnd = lastNode?.range?.[1];
  if (node.flow && end !== undefined && lastEnd !== undefined) {
    const between = text.slice(lastEnd, end);
    const comma = between.search(/,/);
    if (comma >= 0) return lastEnd + comma;
  }
  return undefined;
}

/** Attach `file:line` of its field to an InputError; other errors pass through. */
export function withLocation(e: unknown, file: string, lineOf: (field: FieldPath) => number | undefined): unknown {
  if (!(e instanceof InputError)) return e;
  return e.in({ file, line: lineOf(e.field) });
}

function toSpec(root: unknown, file: string): SweepSpec {
  if (root === null || root === undefined) {
    throw new InputProblem('file', `${file} is empty; expected a mapping with ${SWEEP_FILE_KEYS.join(', ')}`);
  }
  if (!isPlainObject(root)) {
    throw new InputProblem('file', `${file} must be a mapping with keys ${SWEEP_FILE_KEYS.join(', ')}`);
  }
  parseValue(sweepFileSchema, root, '');
  // Checked; built from the text itself so that axes keep the order they were written in.
  const spec: SweepSpec = { file, base: {}, axes: [] };
  if (root.name !== undefined && root.name !== null) spec.name = String(root.name);
  if (isPlainObject(root.base)) spec.base = root.base as SweepEntry;
  if (isPlainObject(root.axes)) {
    // A scalar is a one-element axis; so is a single router mapping.
    for (const [key, raw] of Object.entries(root.axes)) spec.axes.push({ key: key as SweepKey, values: Array.isArray(raw) ? raw : [raw] });
  }
  if (Array.isArray(root.configs)) spec.configs = root.configs as SweepEntry[];
  return spec;
}

export { fieldSegments } from './fieldPath.ts';

/** Source offset of a field: a key's own position for mapping keys, the item's for list items. */
function offsetOf(doc: Document, field: FieldPath): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const seg of fieldSegments(field)) {
    if (typeof seg === 'string' && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === seg);
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (typeof seg === 'number' && isSeq(node) && seg < node.items.length) {
      node = node.items[seg];
      offset = (node as Node | null)?.range?.[0] ?? offset;
    } else {
      break;
    }
  }
  return offset;
}
