import type { z } from 'zod';

/**
 * A zod error map for config files: every message says what is wrong, then what to write
 * ("got 90 — write a duration like 30s"). Schemas that set their own message keep it (zod
 * prefers a schema's message over this per-parse map), so those messages must follow the same form.
 * Text the user wrote is echoed only where it cannot be a secret (choices, numbers, type names):
 * a password or webhook URL in the wrong place is described by its kind, never shown.
 */
export const writeHint: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `missing — write ${expectedText(issue.expected)}`
        : `got ${kindOf(issue.input)} — write ${expectedText(issue.expected)}`;
    case 'invalid_value':
      return `${shown(issue.input)} is not allowed — write ${oneOf(issue.values.map(shown))}`;
    case 'invalid_union':
      return unionHint(issue);
    case 'unrecognized_keys':
      return unknownKeysHint(issue.keys, issue.inst);
    case 'too_small':
      return sizeHint('small', issue.origin, issue.minimum, issue.inclusive, issue.input);
    case 'too_big':
      return sizeHint('big', issue.origin, issue.maximum, issue.inclusive, issue.input);
    case 'invalid_format':
      return formatHint(issue);
    case 'not_multiple_of':
      return `${shown(issue.input)} — write a multiple of ${issue.divisor}`;
    case 'invalid_key':
    case 'invalid_element':
      return `not a valid ${issue.code === 'invalid_key' ? 'key' : 'entry'} — write ${issue.origin === 'map' ? 'a mapping of text keys' : 'text'}`;
    default:
      return undefined;
  }
};

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list like [a, b]',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
  null: 'nothing (null)',
};

function expectedText(expected: string): string {
  return EXPECTED[expected] ?? expected;
}

/** What kind of value was written, without the value itself (it may be a secret). */
function kindOf(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

/** The value as the user wrote it, short; never more than a few dozen characters of a long value. */
function shown(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'a list' : 'a mapping';
}

function oneOf(choices: string[]): string {
  return choices.length === 1 ? choices[0]! : `one of ${choices.join(', ')}`;
}

function unionHint(issue: z.core.$ZodRawIssue<z.core.$ZodIssueInvalidUnion>): string {
  // A discriminated union ("type: …") whose discriminator matched nothing.
  const options = (issue as { options?: unknown[] }).options;
  const key = (issue as { discriminator?: string }).discriminator;
  if (key && options?.length) {
    const value = (issue.input as Record<string, unknown> | undefined)?.[key];
    const choices = oneOf(options.map(String));
    return value === undefined
      ? `missing — write ${key}: ${choices}`
      : `${shown(value)} is not a known ${key} — write ${choices}`;
  }
  const choices = new Set<string>();
  for (const branch of issue.errors) {
    const first = branch[0];
    if (first?.code === 'invalid_type') choices.add(expectedText(first.expected));
    else if (first?.code === 'invalid_value') for (const v of first.values) choices.add(shown(v));
    else if (first?.message) choices.add(first.message.replace(/^.* — write /, ''));
  }
  const got = issue.input === undefined ? 'missing' : `got ${kindOf(issue.input)}`;
  return choices.size
    ? `${got} — write ${[...choices].join(' or ')}`
    : `${got} — see the documentation of this key`;
}

function unknownKeysHint(keys: string[], inst: unknown): string {
  const shape = (inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def
    ?.shape;
  const known = shape ? Object.keys(shape) : [];
  const what = `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `'${k}'`).join(', ')}`;
  return known.length ? `${what} — remove it or write one of ${known.join(', ')}` : `${what} — remove it`;
}

function sizeHint(
  side: 'small' | 'big',
  origin: string,
  limit: number | bigint,
  inclusive: boolean | undefined,
  input: unknown,
): string {
  const cmp = side === 'small' ? (inclusive ? 'at least' : 'more than') : inclusive ? 'at most' : 'less than';
  const bound = Number(limit);
  if (origin === 'array' || origin === 'set')
    return `too ${side === 'small' ? 'few' : 'many'} entries — write ${cmp} ${bound}`;
  if (origin === 'string')
    return `too ${side === 'small' ? 'short' : 'long'} — write ${cmp} ${bound} characters`;
  const want =
    side === 'small'
      ? inclusive
        ? `${bound} or more`
        : `more than ${bound}`
      : inclusive
        ? `${bound} or less`
        : `less than ${bound}`;
  return `${typeof input === 'number' ? `${input} is ` : ''}too ${side} — write ${want}`;
}

function formatHint(issue: z.core.$ZodRawIssue<z.core.$ZodIssueInvalidStringFormat>): string {
  const got = 'this is not';
  switch (issue.format) {
    case 'url':
      return `${got} a URL — write a URL like https://host:443`;
    case 'regex':
      return `${got} in the expected form — write text matching ${issue.pattern ?? 'the documented form'}`;
    case 'starts_with':
    case 'ends_with':
    case 'includes':
      return `${got} in the expected form — write text that ${issue.format.replace('_', ' ')} '${(issue as { prefix?: string; suffix?: string; includes?: string }).prefix ?? (issue as { suffix?: string }).suffix ?? (issue as { includes?: string }).includes}'`;
    default:
      return `${got} a valid ${issue.format} — write a ${issue.format}`;
  }
}
