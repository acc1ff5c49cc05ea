/**
 * Redaction by value: whatever key a string sits under, credentials inside it are cut out before
 * it is printed (status API, logs, error messages, dead-letter entries). Key-name redaction
 * (config/secrets.ts `redact`) stays, this catches what it cannot see: a password in a URL under
 * `endpoint`, a signed S3 URL in an error message, a bearer token quoted by a peer.
 *
 * Every pattern is anchored on a literal (`://`, `name=`, `Bearer`), and the scan after it stops
 * at the first delimiter, so the cost stays linear in practice on hostile strings.
 */

export const REDACTED = '[redacted]';

/** `scheme://user:password@host` and `scheme://token@host`: the userinfo goes, the host stays. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]{0,30}:\/\/)[^\s/?#@"'<>]{1,2048}@/gi;

/**
 * `name=value` where the name says secret: query parameters, form bodies, `k=v` log text and the
 * parts of an AWS SigV4 `Authorization` header (`Credential=…, Signature=…`).
 */
const SECRET_PARAM =
  /(^|[?&;,\s])((?:[\w.-]{0,64}[_.-])?(?:token|secret|password|passwd|pwd|key|api_?key|apikey|signature|sig|credential|credentials|skey|access_token|auth)=)[^&#\s"',;]*/gi;

/** An HTTP authorization credential quoted in text: `Bearer x`, `Basic <base64>`, `ApiKey x`. */
const AUTH_SCHEME = /\b(Bearer|ApiKey)\s+[A-Za-z0-9._~+/=-]+|\b(Basic)\s+[A-Za-z0-9+/]{8,}={0,2}/gi;

/** `Authorization: value` / `"authorization":"value"` with a value that has no scheme word. */
const AUTH_HEADER = /(\bauthorization["']?\s*[:=]\s*["']?)(?!(?:bearer|basic|apikey)\s)[^\s"',;}]+/gi;

/** The string with URL userinfo, secret-looking parameters and authorization credentials replaced. */
export function redactString(text: string): string {
  if (text.length === 0) return text;
  return text
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(SECRET_PARAM, `$1$2${REDACTED}`)
    .replace(AUTH_SCHEME, (_m, scheme: string | undefined, basic: string | undefined) => {
      return `${scheme ?? basic} ${REDACTED}`;
    })
    .replace(AUTH_HEADER, `$1${REDACTED}`);
}

/**
 * Deep copy with `redactString` applied to every string (keys included). Objects with their own
 * `toJSON` (a `Secret`, a `Date`) are serialized first, so a secret stays `[redacted]`; errors
 * become `{type, message, stack}`, each redacted (a stack's first line quotes the message).
 */
export function redactStrings(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 20) return REDACTED;
  if (value instanceof Error)
    return {
      type: value.name,
      message: redactString(value.message),
      ...(value.stack ? { stack: redactString(value.stack) } : {}),
    };
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value;
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return redactStrings(withJson.toJSON(), depth + 1);
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[redactString(k)] = redactStrings(v, depth + 1);
  return out;
}

/**
 * A dead-letter entry as it may be stored: the message, origin and position are redacted; the
 * payload (`data`, `event`) is kept verbatim because a replay must deliver exactly what arrived,
 * and it is the same log data the sinks hold.
 */
export function redactDeadLetter<T extends { error: string; origin: object; position?: string }>(
  entry: T,
): T {
  return {
    ...entry,
    error: redactString(entry.error),
    origin: redactStrings(entry.origin) as T['origin'],
    ...(entry.position === undefined ? {} : { position: redactString(entry.position) }),
  };
}
