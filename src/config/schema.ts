import { resolve, sep } from 'node:path';
import { z } from 'zod';
import { alertsConfigSchema } from '../alerts/schema.js';
import { LimitsSchema } from '../core/limits.js';
import { deadLetterStores, parsers, sinks, sources, stateStores } from '../registry.js';
import { rulesConfigSchema } from '../rules/config.js';
import { transformSchema } from '../transforms/index.js';
import { duration } from './common.js';
import { SecretRefSchema } from './secrets.js';

/** `host:port` of the status API (`[::1]:8686` for IPv6); port 0 picks a free one. */
export const statusListenSchema = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[\w.-]+):\d{1,5}$/, 'write host:port, like 127.0.0.1:8686')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'the port must be 0-65535');

/** A host name, or host:port, that the status API answers to besides loopback and IP addresses. */
const allowedHost = z
  .string()
  .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'write a host name like logferry.internal or logferry.internal:443')
  .transform((s) => s.toLowerCase());

function union<T extends Record<string, { schema: z.ZodObject }>>(entries: T) {
  const schemas = Object.values(entries).map((e) => e.schema) as unknown as [
    T[keyof T]['schema'],
    ...T[keyof T]['schema'][],
  ];
  return z.discriminatedUnion('type', schemas);
}

export const sourceConfigSchema = union(sources);
export const sinkConfigSchema = union(sinks);

export const configSchema = z
  .object({
    state: union(stateStores).prefault({ type: 'file' }),
    dead_letter: union(deadLetterStores).prefault({ type: 'file' }),
    limits: LimitsSchema.prefault({}),
    delivery: z
      .object({
        max_attempts: z.number().int().min(1).max(100).default(5),
        backoff: duration.default(200),
        max_backoff: duration.default(10_000),
        chunk_events: z.number().int().min(1).max(100_000).default(2000),
      })
      .strict()
      .prefault({}),
    sources: z.array(sourceConfigSchema).min(1, 'no source — write at least one source'),
    transforms: z.array(transformSchema).default([]),
    sinks: z.array(sinkConfigSchema).min(1, 'no sink — write at least one sink'),
    /** Detection rules (issue #7); without this key no rules run. */
    rules: rulesConfigSchema.optional(),
    /** Where rule alerts go, routed by severity and tag. */
    alerts: alertsConfigSchema.optional(),
    daemon: z
      .object({
        /** host:port of the status/control API and dashboard; `false` turns it off. */
        status_listen: z
          .union([statusListenSchema, z.literal(false)], {
            error: 'not an address — write host:port like 127.0.0.1:8686, or false for no status API',
          })
          .default('127.0.0.1:8686'),
        /**
         * Bearer token for control calls (and for reads when the API listens beyond loopback):
         * {file}, {env}, {ssm} or {aws_secretsmanager}. Required to listen on anything but loopback.
         */
        status_token: SecretRefSchema.optional(),
        /** Host names the API answers to besides localhost and IP addresses (a reverse proxy's name). */
        status_allowed_hosts: z.array(allowedHost).default([]),
        log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'),
        /**
         * Decode worker threads (docs/operations.md, "Both cores"): `auto` is one per core, up to
         * 4, none on one core; 0 decodes in the main thread.
         */
        workers: z
          .union([z.literal('auto'), z.number().int().min(0).max(64)], {
            error: 'write auto, or a number of decode workers from 0 (none) to 64',
          })
          .default('auto'),
        /** How long a SIGTERM waits for in-flight batches before giving up. */
        drain_timeout: duration.default(30_000),
        health: z
          .object({
            /**
             * A unit (shard, Duo log) whose last successful poll or commit is older than this is
             * lagging and makes /health 503. Off unless set; set it above the longest poll interval.
             */
            max_lag: duration.optional(),
            /**
             * A unit that reports its poll interval (a Kinesis shard) lags when it made no progress
             * for this many of its current intervals, so `thread NAME interval` moves the limit too.
             */
            lag_intervals: z.number().int().min(2).max(10_000).optional(),
          })
          .strict()
          .prefault({}),
        /**
         * duo_watcher's UDP status/control responder ("ding", docs/operations.md): off unless set.
         * Status is answered to anyone who can reach host:port; controls only from 127.0.0.1/::1.
         */
        udp: z
          .union([
            z.literal(false),
            z
              .object({
                host: z.string().min(1).default('0.0.0.0'),
                port: z.number().int().min(0).max(65_535).default(2681),
                max_answers_per_second: z.number().int().min(1).max(10_000).default(50),
              })
              .strict(),
          ])
          .default(false),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const sinkNames = new Set<string>();
    cfg.sinks.forEach((s, i) => {
      if (sinkNames.has(s.name))
        ctx.addIssue({
          code: 'custom',
          path: ['sinks', i, 'name'],
          message: `duplicate sink name '${s.name}' — write a name no other sink has`,
        });
      sinkNames.add(s.name);
    });
    sharedDayFileFolders(cfg.sinks, ctx);
    const sourceNames = new Set<string>();
    cfg.sources.forEach((s, i) => {
      if (sourceNames.has(s.name))
        ctx.addIssue({
          code: 'custom',
          path: ['sources', i, 'name'],
          message: `duplicate source name '${s.name}' — write a name no other source has`,
        });
      sourceNames.add(s.name);
      if (!(s.parser in parsers)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sources', i, 'parser'],
          message: `unknown parser '${s.parser}' — write one of ${Object.keys(parsers).join(', ')}`,
        });
      }
      s.sinks?.forEach((name, j) => {
        if (!sinkNames.has(name))
          ctx.addIssue({
            code: 'custom',
            path: ['sources', i, 'sinks', j],
            message: `no sink named '${name}' — write one of ${[...sinkNames].join(', ')}`,
          });
      });
    });
  });

/**
 * Two day-file sinks writing one folder (or one inside the other) would each guard against
 * replays with their own marks and id windows, blind to the other's appends: refused at load.
 */
function sharedDayFileFolders(
  sinks: readonly { name: string; type: string; path?: unknown }[],
  ctx: z.RefinementCtx,
): void {
  const seen: { name: string; dir: string }[] = [];
  sinks.forEach((s, i) => {
    if (s.type !== 'daily_files' || typeof s.path !== 'string') return;
    const dir = resolve(s.path);
    const other = seen.find(
      (o) => o.dir === dir || dir.startsWith(o.dir + sep) || o.dir.startsWith(dir + sep),
    );
    if (other)
      ctx.addIssue({
        code: 'custom',
        path: ['sinks', i, 'path'],
        message: `daily_files sink '${s.name}' writes where sink '${other.name}' does (${dir}) — give each its own folder, or route both sources to one sink`,
      });
    seen.push({ name: s.name, dir });
  });
}

export type Config = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof sourceConfigSchema>;
export type SinkConfig = z.infer<typeof sinkConfigSchema>;
