import { UnsafeNameError } from './errors.js';

/** Characters every sink's naming rules accept (file systems, S3 keys, OpenSearch indexes, streams). */
const OUTSIDE_SAFE_SET = /[^A-Za-z0-9._-]/g;
/** Below the 255-byte file-name limit, with room for a sink's own prefix and suffix. */
export const MAX_NAME_COMPONENT = 200;

/**
 * Turns one value taken from an event into one component of a name (a folder, a key segment, an
 * index part): characters outside `A-Z a-z 0-9 . _ -` become `_`, so no separator can get through.
 * Refuses what would still move up or stay in place (`.`, `..`), what is empty, and what is too
 * long, with an error naming `what` and the value (quoted, cut short; it is event data, not a secret).
 */
export function safeNameComponent(value: string, what: string): string {
  const clean = value.replace(OUTSIDE_SAFE_SET, '_');
  if (clean === '' || clean === '.' || clean === '..')
    throw new UnsafeNameError(`${what} ${quoted(value)} cannot be used as a name`);
  if (clean.length > MAX_NAME_COMPONENT)
    throw new UnsafeNameError(
      `${what} ${quoted(value)} is longer than ${MAX_NAME_COMPONENT} characters and cannot be used as a name`,
    );
  return clean;
}

function quoted(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}
