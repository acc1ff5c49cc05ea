import { z } from 'zod';

export const componentName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
  error: (issue) =>
    `'${String(issue.input).slice(0, 40)}' is not a name — write letters, digits, dot, dash and underscore, like aws-logs`,
});

/** Fields every source has. `sinks` limits where its events go (default: every sink). */
export const sourceBase = {
  name: componentName,
  parser: z.string().default('auto'),
  /** Options for the parser, e.g. `{dataset: app.audit}` for json_lines. */
  parser_options: z.record(z.string(), z.unknown()).default({}),
  sinks: z.array(componentName).optional(),
  /**
   * Take `event.dataset` and `event.id` from the payload (logferry's own output read back in,
   * e.g. day files). Off by default: a payload must not choose its dataset (which rules fire,
   * where it is written) or its id (which stored document it replaces).
   */
  trust_event_fields: z.boolean().default(false),
};

export const sinkBase = {
  name: componentName,
};

export const DURATION_HINT = 'write a duration like 500ms, 30s, 5m, 2h or 7d';
const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A duration written as `500ms`, `30s`, `5m`, `2h` or `7d`, read as milliseconds. A bare number
 * is refused (except 0): the configs this replaces wrote `interval: 90` meaning seconds, and
 * reading it as 90 ms would poll a thousand times too often without a word.
 */
export const duration = z.unknown().transform((value, ctx) => {
  const ms = durationMs(value);
  if (typeof ms === 'number') return ms;
  ctx.addIssue({ code: 'custom', message: ms, input: value });
  return z.NEVER;
});

/** Milliseconds, or what is wrong with the value and what to write instead. */
function durationMs(value: unknown): number | string {
  if (value === 0) return 0;
  if (typeof value === 'number')
    return `${value} has no unit — ${DURATION_HINT} (${value}s for ${value} seconds)`;
  if (value === undefined) return `missing — ${DURATION_HINT}`;
  if (typeof value !== 'string')
    return `${typeof value === 'object' ? (Array.isArray(value) ? 'a list' : 'a mapping') : String(value)} is not a duration — ${DURATION_HINT}`;
  const m = DURATION.exec(value);
  if (!m) {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    const hint = /^\d+$/.test(value) ? ` (${value}s for ${value} seconds)` : '';
    return `'${shown}' is not a duration — ${DURATION_HINT}${hint}`;
  }
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) ? ms : `'${value}' is too long — ${DURATION_HINT}`;
}

/** AWS client settings shared by every AWS component; `endpoint` points at an emulator or VPC endpoint. */
export const awsClientOptions = z
  .object({
    region: z.string().optional(),
    endpoint: z.string().url().optional(),
    /** Only for emulators; real deployments use the default credential chain. */
    credentials: z.object({ access_key_id: z.string(), secret_access_key: z.string() }).strict().optional(),
    force_path_style: z.boolean().optional(),
  })
  .strict();
export type AwsClientOptions = z.infer<typeof awsClientOptions>;

/**
 * Permissions of the files a component creates, as a quoted octal string (`'0600'`, `'0640'`);
 * folders get the matching search bits. Quoted because YAML reads a bare 0600 as six hundred.
 */
export const fileMode = z
  .string()
  .regex(/^0?[0-7]{3}$/, "write the mode as a quoted octal string, e.g. '0600'")
  .transform((s) => Number.parseInt(s, 8))
  .refine((m) => (m & 0o600) === 0o600, 'the owner must be able to read and write (at least 0600)')
  .default(0o600);
