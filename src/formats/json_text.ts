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

/**
 * An object from its members written with a leading comma each (optString…): `{}` when every
 * one was left out, as JSON.stringify writes an object whose values are all undefined.
 */
export function braces(members: string): string {
  return members === '' ? '{}' : `{${members.slice(1)}}`;
}

/**
 * A member's text, remembered for the value it was last written for: most fields of a log file
 * repeat from line to line (names, ARNs, ciphers, agents), and reusing their text saves the
 * escape check and the concatenations, the bulk of a fixed-shape writer's cost.
 */
export class StringMember {
  private raw: string | undefined = undefined;
  private text = '';
  constructor(private readonly key: string) {}
  /** `,"key":"value"`, or nothing for undefined. */
  of(v: string | undefined): string {
    if (v === undefined) return '';
    if (v !== this.raw) {
      this.text = this.key + quote(v);
      this.raw = v;
    }
    return this.text;
  }
}

/** StringMember for numbers. */
export class NumberMember {
  private raw: number | undefined = undefined;
  private text = '';
  constructor(private readonly key: string) {}
  of(v: number | undefined): string {
    if (v === undefined) return '';
    // NaN never equals itself: it is just written again.
    if (v !== this.raw) {
      this.text = this.key + jsonNumber(v);
      this.raw = v;
    }
    return this.text;
  }
}

/** StringMember for arrays of strings (compared element by element). */
export class StringsMember {
  private raw: readonly string[] | undefined = undefined;
  private text = '';
  constructor(private readonly key: string) {}
  of(v: readonly string[] | undefined): string {
    if (v === undefined) return '';
    if (this.raw === undefined || !sameStrings(v, this.raw)) {
      this.text = this.key + stringArray(v);
      // A copy: the doc's own array is not this writer's to trust once the doc is handed on.
      this.raw = v.slice();
    }
    return this.text;
  }
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The text of a block made from up to three values, remembered for the values it was last made of. */
export class BlockText<A, B = undefined, C = undefined> {
  private a: A | undefined = undefined;
  private b: B | undefined = undefined;
  private c: C | undefined = undefined;
  private text: string | undefined = undefined;
  constructor(private readonly render: (a: A, b: B, c: C) => string) {}
  of(a: A, b: B, c: C): string {
    if (this.text === undefined || a !== this.a || b !== this.b || c !== this.c) {
      this.text = this.render(a, b, c);
      this.a = a;
      this.b = b;
      this.c = c;
    }
    return this.text;
  }
}

/** One member writer of class `M` per key, by key (a writer's remembered members). */
export function membersOf<K extends string, M>(keys: readonly K[], M: new (key: string) => M): Record<K, M> {
  const out = {} as Record<K, M>;
  for (const k of keys) out[k] = new M(memberKey(k));
  return out;
}
