// Writing an Arrow IPC file (Feather v2) one record batch at a time, so memory holds one batch,
// not the whole file. The bytes go to an OutputFile (a temporary file until committed).
import { AsyncByteQueue, RecordBatchFileWriter, type RecordBatch, type Schema } from 'apache-arrow';
import type { BatchLayout, CellValue } from './arrowTable.ts';
import type { OutputFile } from './outputFile.ts';

/** Hands each chunk the Arrow writer produces straight to the output instead of queueing it. */
class OutputSink extends AsyncByteQueue {
  constructor(private readonly out: OutputFile) {
    super();
  }
  override write(value: Uint8Array): void {
    // The writer passes views of batch buffers it never changes afterwards.
    if (value.byteLength > 0) this.out.write(value);
  }
}

export class ArrowFileWriter {
  private readonly writer = new RecordBatchFileWriter();
  private started = false;
  /** Rows written so far. */
  rows = 0;

  constructor(
    readonly out: OutputFile,
    readonly layout: BatchLayout,
  ) {
    this.writer.reset(new OutputSink(out));
  }

  /** Append rows: `values[i]` holds column i's values for these rows. */
  writeColumns(values: readonly ArrayLike<CellValue>[]): void {
    const batch = this.layout.batch(values);
    if (batch.numRows > 0) this.writeBatch(batch);
  }

  writeBatch(batch: RecordBatch): void {
    this.writer.write(batch);
    this.started = true;
    this.rows += batch.numRows;
  }

  /**
   * Write the footer and close the output (not yet committed). The schema, with its metadata,
   * is stored in the footer, so metadata known only at the end (wall time, threads used) can
   * still be added here.
   */
  finish(extraMetadata: Record<string, string> = {}): void {
    // A file with no rows still needs its schema: write one empty batch.
    if (!this.started) this.writer.write(this.layout.batch(this.layout.columns.map(() => [])));
    // Each record batch carries its own copy of the schema; the writer keeps the first batch's
    // copy and encodes that one in the footer when it finishes.
    const written = (this.writer as unknown as { _schema: Schema | null })._schema;
    if (!written) throw new Error('Arrow writer has no schema');
    for (const [k, v] of Object.entries(extraMetadata)) written.metadata.set(k, v);
    this.writer.finish();
    this.out.close();
  }
}
