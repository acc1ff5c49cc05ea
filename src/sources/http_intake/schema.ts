import { isIP } from 'node:net';
import { z } from 'zod';
import { duration, sourceBase } from '../../config/common.js';
import { SecretRefSchema } from '../../config/secrets.js';

const MiB = 1024 * 1024;
const urlPath = z.string().regex(/^\/[\w./-]*$/, 'write a path like /firehose');

/** `host:port`; IPv6 hosts in brackets, as in the daemon's status_listen. */
export const listenAddress = z.string().regex(/^[\w.:[\]-]+:\d+$/, 'write host:port, e.g. 127.0.0.1:8088');

export function splitListen(listen: string): { host: string; port: number } {
  const idx = listen.lastIndexOf(':');
  return { host: listen.slice(0, idx).replace(/^\[|\]$/g, ''), port: Number(listen.slice(idx + 1)) };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export const httpIntakeSourceSchema = z
  .object({
    ...sourceBase,
    type: z.literal('http_intake'),
    /** Where to listen. A non-loopback address needs an access key/token on every endpoint. */
    listen: listenAddress.default('127.0.0.1:8088'),
    /**
     * The Firehose HTTP endpoint delivery protocol. Firehose only sends to https on port 443:
     * put a TLS-terminating proxy or load balancer in front. Omit to turn the endpoint off.
     */
    firehose: z
      .object({
        path: urlPath.default('/firehose'),
        /** Compared with the X-Amz-Firehose-Access-Key header. */
        access_key: SecretRefSchema.optional(),
      })
      .strict()
      .optional(),
    /** Plain NDJSON over `POST <path>` with `Authorization: Bearer <token>`. Omit to turn it off. */
    ingest: z
      .object({
        path: urlPath.default('/ingest'),
        token: SecretRefSchema.optional(),
      })
      .strict()
      .optional(),
    /**
     * Largest request body as received (compressed or not). Firehose buffers at most 64 MiB per
     * request, usually far less, and gzip shrinks logs about tenfold.
     */
    max_body_bytes: z
      .number()
      .int()
      .positive()
      .default(16 * MiB),
    /** Largest body once gunzipped: the decompression-bomb cap (Firehose's own ceiling is 64 MiB). */
    max_decoded_bytes: z
      .number()
      .int()
      .positive()
      .default(64 * MiB),
    /** Requests in the pipeline at once; more get 429 with Retry-After, so memory stays bounded. */
    max_concurrent: z.number().int().min(1).max(1000).default(8),
    /** Open connections at once (idle keep-alive ones included); more are dropped on arrival. */
    max_connections: z.number().int().min(1).max(100_000).default(256),
    /** Seconds a sender is told to wait (Retry-After) when the intake is full or shutting down. */
    retry_after: z.number().int().min(1).max(3600).default(5),
    /** Time to receive a whole request body before the connection is dropped. */
    request_timeout: duration.default(60_000),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (!cfg.firehose && !cfg.ingest)
      ctx.addIssue({ code: 'custom', path: ['firehose'], message: 'configure firehose, ingest or both' });
    if (isLoopback(splitListen(cfg.listen).host)) return;
    if (cfg.firehose && !cfg.firehose.access_key)
      ctx.addIssue({
        code: 'custom',
        path: ['firehose', 'access_key'],
        message: `listening on ${cfg.listen} (not loopback) needs an access_key`,
      });
    if (cfg.ingest && !cfg.ingest.token)
      ctx.addIssue({
        code: 'custom',
        path: ['ingest', 'token'],
        message: `listening on ${cfg.listen} (not loopback) needs a token`,
      });
  });
export type HttpIntakeSourceConfig = z.infer<typeof httpIntakeSourceSchema>;
