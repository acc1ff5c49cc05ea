import { z } from 'zod';

export const componentName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'use letters, digits, dot, dash and underscore');

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

/** A duration written as `30s`, `5m`, `2h`, `7d` or a number of milliseconds. */
export const duration = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\d+(ms|s|m|h|d)$/, 'write a duration like 500ms, 30s, 5m, 2h or 7d')
    .transform((s) => {
      const m = /^(\d+)(ms|s|m|h|d)$/.exec(s)!;
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms'];
      return Number(m[1]) * unit;
    }),
]);

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
