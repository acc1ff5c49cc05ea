import { z } from 'zod';
import { duration, sourceBase } from '../../config/common.js';
import { SecretRefSchema } from '../../config/secrets.js';
import { isClearTextRemote } from '../../core/net.js';
import { resumeFromSchema } from './resume-schema.js';

const logSchema = (interval: number) =>
  z
    .object({
      enabled: z.boolean().default(true),
      /** Pause between polls of this log once it is caught up. */
      interval: duration.default(interval),
      /** Events read per poll at most; the next poll goes on from the checkpoint. */
      max_events_per_poll: z.number().int().min(1).default(100_000),
    })
    .strict();

export const duoSourceSchema = z
  .object({
    ...sourceBase,
    type: z.literal('duo'),
    /** API hostname, e.g. api-XXXXXXXX.duosecurity.com (what requests are signed for). */
    host: z
      .string()
      .regex(
        /^[\w.-]+(:\d+)?$/,
        'not a hostname — write the API hostname, like api-XXXXXXXX.duosecurity.com',
      ),
    /** Integration key of the Admin API application (needs "Grant read log"). */
    ikey: z.string().min(1),
    /** Secret key: inline (discouraged), {env}, {file}, {aws_secretsmanager, key} or {ssm}. */
    skey: SecretRefSchema,
    /** Connect here instead of https://host (a proxy, or the fake server in tests and --demo). */
    endpoint: z.string().url().optional(),
    /**
     * Allow an `http://` endpoint off this machine. Requests carry the ikey and a signature, and
     * the answers are your users' sign-ins: in clear text anyone on the path reads them.
     */
    allow_insecure_http: z.boolean().default(false),
    /** Where a log without a checkpoint starts: this long before now (Duo keeps 180 days). */
    lookback: duration.default(86_400_000),
    /** Records per request (Duo allows at most 1000). */
    limit: z.number().int().min(1).max(1000).default(1000),
    /** Duo makes events available after two minutes; never ask for anything newer than this. */
    delay: duration
      .default(125_000)
      .refine((v) => v >= 120_000, 'too short: Duo delays its logs two minutes — write 2m or more'),
    /** Per request: HTTP 429 answers retried (with growing, jittered waits), and 5xx/network errors retried. */
    retry: z
      .object({
        max_rate_limited: z.number().int().min(0).max(100).default(8),
        max_errors: z.number().int().min(0).max(20).default(4),
        backoff: duration.default(1000),
        max_backoff: duration.default(32_000),
      })
      .strict()
      .prefault({}),
    timeout: duration.default(30_000),
    /** Largest response body read; a full page of 1000 events is a few MB. */
    max_response_bytes: z
      .number()
      .int()
      .positive()
      .default(32 * 1024 * 1024),
    /** A log without a checkpoint starts where duo_watcher or the Go Duo function stopped (docs/operations.md). */
    resume_from: resumeFromSchema.optional(),
    logs: z
      .object({
        authentication: logSchema(60_000).prefault({}),
        administrator: logSchema(300_000).prefault({}),
        telephony: logSchema(300_000).prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.endpoint && !cfg.allow_insecure_http && isClearTextRemote(cfg.endpoint))
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message:
          'an http:// endpoint sends Duo requests and logs in clear text: use https://, or set allow_insecure_http: true',
      });
  });

export type DuoSourceConfig = z.infer<typeof duoSourceSchema>;
export type DuoLogName = keyof DuoSourceConfig['logs'];
