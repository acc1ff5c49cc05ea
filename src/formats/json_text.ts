/**
 * Pieces of JSON text that give exactly what JSON.stringify writes for the same values, for
 * parsers whose documents have a fixed shape and write them as templates (EventDraft.toJson):
 * calling JSON.stringify per value cost more than checking whether the value needs it.
 */

/**
 * What JSON.stringify escapes in a string: `"`, `\`, control characters and lone surrogates
 * (well-formed JSON.stringify). Paired surrogates match too: they go to JSON.stringify, which
 * writes them as they are, so the text is the same, only slower (rare in access logs).
 */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `s` as a JSON string: quoted as is when nothing in it needs escaping. */
export function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** A number as JSON writes it: `String(n)` when finite (-0 gives "0" both ways), `null` otherwise. */
export function jsonNumber(n: number): string {
  return Number.isFinite(n) ? `${n}` : 'null';
}

/** `,"key":` — the text before a member's value; built once per key, not per document. */
export function memberKey(key: string): string {
  return `,${JSON.stringify(key)}:`;
}

/** A string member (`key` from memberKey), or nothing for undefined as JSON.stringify leaves it out. */
export function optString(key: string, v: string | undefined): string {
  return v === undefined ? '' : key + quote(v);
}

/** A number member, or nothing for undefined. */
export function optNumber(key: string, v: number | undefined): string {
  return v === undefined ? '' : key + jsonNumber(v);
}

/** An array of strings as JSON. */
export function stringArray(a: readonly string[]): string {
  if (a.length === 1) return `[${quote(a[0]!)}]`;
  let out = '';
  for (const s of a) out += out === '' ? quote(s) : `,${quote(s)}`;
  return `[${out}]`;
}

/** An array-of-strings member, or nothing for undefined. */
export function optStrings(key: string, v: readonly string[] | undefined): string {
  return v === undefined ? '' : key + stringArray(v);
}

/**
 * An object from its members written with a leading comma each (optString…): `{}` when every
 * one was left out, as JSON.stringify writes an object whose values are all undefined.
 */
export function braces(members: string): string {
  return members === '' ? '{}' : `{${members.slice(1)}}`;
}
