/** Reads a dotted path (`aws.elb.backend_processing_time`) from a nested document. */
export function getField(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Sets a dotted path, creating objects on the way. */
export function setField(doc: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = doc;
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i]!;
    const next = cur[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      const fresh: Record<string, unknown> = {};
      cur[k] = fresh;
      cur = fresh;
    } else cur = next as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

export function deleteField(doc: Record<string, unknown>, path: string): void {
  const keys = path.split('.');
  let cur: unknown = doc;
  for (let i = 0; i < keys.length - 1; i++) {
    if (cur === null || typeof cur !== 'object') return;
    cur = (cur as Record<string, unknown>)[keys[i]!];
  }
  if (cur !== null && typeof cur === 'object')
    delete (cur as Record<string, unknown>)[keys[keys.length - 1]!];
}

/** Drops keys whose value is undefined, null or '' so documents carry only what is known. */
export function compact<T extends Record<string, unknown>>(obj: T): T {
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v === undefined || v === null || v === '') delete obj[k];
    else if (typeof v === 'object' && !Array.isArray(v)) {
      compact(v as Record<string, unknown>);
      if (Object.keys(v as object).length === 0) delete obj[k];
    }
  }
  return obj;
}
