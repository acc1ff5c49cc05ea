import { z } from 'zod';
import { duration, sinkBase } from '../../config/common.js';
import { SecretRefSchema } from '../../config/secrets.js';

const auth = z.union([
  /** Self-managed clusters with the security plugin (or Elasticsearch's native realm). */
  z.object({ basic: z.object({ username: z.string().min(1), password: SecretRefSchema }).strict() }).strict(),
  /** The encoded API key sent as `Authorization: ApiKey …` (Elasticsearch, OpenSearch API keys). */
  z.object({ api_key: SecretRefSchema }).strict(),
  /** AWS SigV4 for Amazon OpenSearch Service: `es` for a domain, `aoss` for Serverless. */
  z
    .object({
      aws: z
        .object({
          region: z.string().min(1),
          service: z.enum(['es', 'aoss']).default('es'),
          /** Only for tests; real deployments use the default credential chain (role, env, profile). */
          credentials: z
            .object({ access_key_id: z.string(), secret_access_key: SecretRefSchema })
            .strict()
            .optional(),
        })
        .strict(),
    })
    .strict(),
]);

export const openSearchSinkSchema = z
  .object({
    ...sinkBase,
    type: z.literal('opensearch'),
    /** Cluster URL(s), e.g. https://search-logs-abc.eu-west-1.es.amazonaws.com */
    endpoint: z.union([z.string().url(), z.array(z.string().url()).min(1)]),
    /**
     * Index (or data stream) name; `{dataset}` and date parts of the event's UTC time in braces
     * (`{yyyy.MM.dd}`, `{yyyy.MM}`, `{HH}`) are filled in per event.
     */
    index: z
      .string()
      .min(1)
      .refine(
        (s) => /^[^A-Z\\/*?"<>| ,#:]+$/.test(s.replace(/\{[^}]*\}/g, 'x')),
        'not an index name — write lowercase, without \\ / * ? " < > | , # : or spaces (outside {…} parts)',
      )
      .default('logs-{dataset}-{yyyy.MM.dd}'),
    /** Write to data streams (the index pattern names the stream); forces `op: create`. */
    data_stream: z.boolean().default(false),
    /**
     * `create` (default) never overwrites: a 409 means the document is already there, so a
     * replay is free. `index` overwrites a document with the same id.
     */
    op: z.enum(['create', 'index']).default('create'),
    /**
     * Send the event id as `_id` (idempotent re-delivery). OpenSearch Serverless time-series
     * collections refuse custom ids: set false there and accept that a replay may duplicate.
     */
    document_id: z.boolean().default(true),
    auth: auth.optional(),
    /** Largest bulk body. Keep it below the cluster's http.max_content_length (10 MiB on small AWS instance types). */
    max_bulk_bytes: z
      .number()
      .int()
      .min(1024)
      .default(5 * 1024 * 1024),
    /**
     * Documents per bulk. With the core's chunk_events (2000) a write goes out as four bulks, two
     * in flight, each built while the one before is at the cluster (Filebeat sends 1600, Logstash 125).
     */
    max_bulk_docs: z.number().int().min(1).default(500),
    /**
     * Writes arriving within this time of each other (many sources, small batches) are joined
     * into one delivery; each is answered once the cluster has its documents. 0 sends each write
     * at once.
     */
    flush_interval: duration.default(0),
    /** A joined delivery goes out as soon as this many events wait. */
    flush_events: z.number().int().min(1).default(2000),
    /** Bulk requests in flight at once per write. */
    concurrency: z.number().int().min(1).max(32).default(2),
    request_timeout: duration.default(60_000),
    /** Largest response body read; bulk answers list only failed documents. */
    max_response_bytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024),
    compression: z.boolean().default(false),
    tls: z
      .object({
        ca_file: z.string().optional(),
        /** Only for a lab cluster with a self-signed certificate. */
        insecure_skip_verify: z.boolean().default(false),
      })
      .strict()
      .optional(),
    /** What `logferry setup opensearch` installs. */
    template: z
      .object({
        name: z.string().default('logferry-ecs'),
        /** Default: the index pattern with each `{…}` as `*`. */
        index_patterns: z.array(z.string()).optional(),
        shards: z.number().int().min(1).optional(),
        replicas: z.number().int().min(0).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type OpenSearchSinkConfig = z.infer<typeof openSearchSinkSchema>;
