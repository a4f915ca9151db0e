/** A rendered HTML report (sweep, capacity, time series, comparison). */
export interface BuiltReport {
  html: string;
  /** Chart ids in page order. */
  charts: string[];
  /** Warnings of the chart libraries (none expected). */
  warnings: string[];
}
