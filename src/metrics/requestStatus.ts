/**
 * The status of a request: in the engine core's state, in per-request logs (`RequestLog.status`,
 * the `status` column of the request log file) and in the WGSL engine (its ST_* constants are
 * generated from this table). Defined once; docs/output.md documents 4 and 5.
 */
export const RequestStatus = {
  /** Submitted, not yet arrived (arrival > now). */
  FUTURE: 0,
  /** Arrived, in the router's global queue (per_step dispatch). */
  QUEUED: 1,
  /** On a rank's waiting queue. */
  WAITING: 2,
  /** Admitted on a rank. */
  RUNNING: 3,
  COMPLETED: 4,
  /** Rejected at arrival or timed out. */
  FAILED: 5,
} as const;
export type RequestStatusCode = (typeof RequestStatus)[keyof typeof RequestStatus];
