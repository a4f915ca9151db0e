// Dotted field paths (`axes.router[2].b`): how errors name where a value was written.

/** Split `axes.router[2].b` into ['axes', 'router', 2, 'b']. */
export function fieldSegments(field: string): (string | number)[] {
  const segs: (string | number)[] = [];
  for (const m of field.matchAll(/\[(\d+)\]|([^.[\]]+)/g)) segs.push(m[1] !== undefined ? Number(m[1]) : m[2]);
  return segs;
}
