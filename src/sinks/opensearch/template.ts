import type { Client } from '@opensearch-project/opensearch';
import { DeliveryError } from '../../core/errors.js';
import { patternToGlob } from './request.js';
import type { OpenSearchSinkConfig } from './schema.js';

const keyword = { type: 'keyword', ignore_above: 1024 };
const long = { type: 'long' };
const ip = { type: 'ip' };

/**
 * ECS types for the fields logferry's parsers fill (formats.md). Strings not listed become
 * keywords (exact match, aggregations) rather than analyzed text; `message` stays full text.
 */
export function ecsMappings() {
  return {
    dynamic_templates: [{ strings_as_keyword: { match_mapping_type: 'string', mapping: keyword } }],
    properties: {
      '@timestamp': { type: 'date' },
      message: { type: 'text' },
      tags: keyword,
      labels: { type: 'object' },
      event: {
        properties: {
          id: keyword,
          kind: keyword,
          category: keyword,
          type: keyword,
          action: keyword,
          outcome: keyword,
          provider: keyword,
          dataset: keyword,
          duration: long,
          original: { type: 'keyword', index: false, doc_values: false },
        },
      },
      cloud: {
        properties: { provider: keyword, region: keyword, account: { properties: { id: keyword } } },
      },
      source: {
        properties: { ip, port: long, address: keyword, geo: { properties: { country_iso_code: keyword } } },
      },
      destination: { properties: { ip, port: long, address: keyword } },
      client: { properties: { ip, port: long } },
      user: { properties: { name: keyword, id: keyword, email: keyword } },
      user_agent: { properties: { original: { type: 'keyword', ignore_above: 2048 } } },
      http: {
        properties: {
          request: { properties: { method: keyword } },
          response: { properties: { status_code: long } },
        },
      },
      url: { properties: { original: { type: 'keyword', ignore_above: 8192 } } },
      tls: { properties: { version: keyword, cipher: keyword } },
      log: { properties: { file: { properties: { path: keyword } } } },
    },
  };
}

export function indexTemplate(cfg: OpenSearchSinkConfig) {
  const settings: Record<string, unknown> = { 'index.mapping.total_fields.limit': 5000 };
  if (cfg.template.shards) settings['index.number_of_shards'] = cfg.template.shards;
  if (cfg.template.replicas !== undefined) settings['index.number_of_replicas'] = cfg.template.replicas;
  return {
    index_patterns: cfg.template.index_patterns ?? [patternToGlob(cfg.index)],
    priority: 200,
    ...(cfg.data_stream ? { data_stream: {} } : {}),
    template: { settings, mappings: ecsMappings() },
    _meta: { managed_by: 'logferry' },
  };
}

/** PUT _index_template/<name>: idempotent, so running setup again updates it. */
export async function installTemplate(client: Client, cfg: OpenSearchSinkConfig): Promise<string[]> {
  const body = indexTemplate(cfg);
  try {
    await client.indices.putIndexTemplate({ name: cfg.template.name, body } as never);
  } catch (e) {
    const status = (e as { meta?: { statusCode?: number } }).meta?.statusCode;
    throw new DeliveryError(
      `installing index template '${cfg.template.name}' failed${status ? ` (HTTP ${status})` : ''}: ${(e as Error).name}`,
      { sink: cfg.name, retryable: true },
    );
  }
  return body.index_patterns;
}
