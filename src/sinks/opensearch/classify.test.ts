import { describe, expect, it } from 'vitest';
import { classify } from './classify.js';

// Bodies as OpenSearch 2.x / Elasticsearch 8 answer them (error types and reasons as logged by
// Logstash, Beats and the Elasticsearch docs).
const ok = {
  took: 30,
  errors: false,
  items: [
    {
      create: {
        _index: 'logs-aws.cloudtrail-2026.11.25',
        _id: 'a1',
        _version: 1,
        result: 'created',
        _shards: { total: 2, successful: 1, failed: 0 },
        _seq_no: 0,
        _primary_term: 1,
        status: 201,
      },
    },
    { index: { _index: 'logs', _id: 'a2', _version: 2, result: 'updated', status: 200 } },
  ],
};

const mixed = {
  took: 486,
  errors: true,
  items: [
    { create: { _index: 'logs', _id: '1', status: 201, result: 'created' } },
    {
      create: {
        _index: 'logs',
        _id: '2',
        status: 409,
        error: {
          type: 'version_conflict_engine_exception',
          reason: '[2]: version conflict, document already exists (current version [1])',
          index: 'logs',
          shard: '0',
          index_uuid: 'aAsFqTI0Tc2W0LCWgPNrOA',
        },
      },
    },
    {
      create: {
        _index: 'logs',
        _id: '3',
        status: 429,
        error: {
          type: 'es_rejected_execution_exception',
          reason:
            'rejected execution of org.elasticsearch.transport.TransportService$7@85be457 on EsThreadPoolExecutor[bulk, queue capacity = 200, org.elasticsearch.common.util.concurrent.EsThreadPoolExecutor@538c9d8a[Running, pool size = 16, active threads = 16, queued tasks = 200, completed tasks = 685]]',
        },
      },
    },
    {
      create: {
        _index: 'logs',
        _id: '4',
        status: 400,
        error: {
          type: 'mapper_parsing_exception',
          reason:
            "failed to parse field [source.port] of type [long] in document with id '4'. Preview of field's value: 'http'",
          caused_by: { type: 'illegal_argument_exception', reason: 'For input string: "http"' },
        },
      },
    },
    {
      create: {
        _index: 'logs',
        _id: '5',
        status: 503,
        error: {
          type: 'unavailable_shards_exception',
          reason:
            '[logs][0] primary shard is not active Timeout: [1m], request: [BulkShardRequest [[logs][0]] containing [1] requests]',
        },
      },
    },
    {
      index: {
        _index: 'logs',
        _id: '6',
        status: 409,
        error: {
          type: 'version_conflict_engine_exception',
          reason: '[6]: version conflict, required seqNo [3]',
        },
      },
    },
  ],
};

describe('classify a _bulk answer', () => {
  it('delivers every 2xx item', () => {
    expect(classify({ status: 200, body: ok }, 2)).toEqual({
      kind: 'items',
      items: [{ kind: 'delivered' }, { kind: 'delivered' }],
    });
  });

  it('judges each item of a 200 answer on its own', () => {
    const v = classify({ status: 200, body: mixed }, 6);
    expect(v.kind).toBe('items');
    const items = v.kind === 'items' ? v.items : [];
    expect(items.map((i) => i.kind)).toEqual([
      'delivered',
      'delivered',
      'retry',
      'reject',
      'retry',
      'reject',
    ]);
    expect(items[3]).toEqual({
      kind: 'reject',
      reason:
        "400 mapper_parsing_exception: failed to parse field [source.port] of type [long] in document with id '4'. Preview of field's value: 'http' (illegal_argument_exception: For input string: \"http\")",
    });
    expect(items[2]!.kind === 'retry' && items[2]!.reason).toMatch(/^429 es_rejected_execution_exception/);
  });

  it('reads the trimmed answer asked for with filter_path', () => {
    const body = {
      errors: true,
      items: [
        { create: { status: 201 } },
        { create: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'x' } } },
      ],
    };
    expect(classify({ status: 200, body }, 2)).toEqual({
      kind: 'items',
      items: [{ kind: 'delivered' }, { kind: 'retry', reason: '429 es_rejected_execution_exception: x' }],
    });
  });

  it('retries everything when the answer does not list every document', () => {
    expect(classify({ status: 200, body: ok }, 3)).toEqual({
      kind: 'retry',
      reason: 'bulk answer lists 2 items for 3 documents',
    });
    expect(classify({ status: 200, body: '' }, 1).kind).toBe('retry');
  });

  it('asks for smaller bodies on 413', () => {
    expect(classify({ status: 413, body: '' }, 10)).toEqual({ kind: 'too_large' });
  });

  it('retries a whole request refused with 429, 5xx, 401 or 403', () => {
    const throttled = {
      error: {
        root_cause: [
          { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' },
        ],
        type: 'es_rejected_execution_exception',
        reason: 'rejected execution of coordinating operation',
      },
      status: 429,
    };
    expect(classify({ status: 429, body: throttled }, 5)).toEqual({
      kind: 'retry',
      reason: 'HTTP 429 es_rejected_execution_exception: rejected execution of coordinating operation',
    });
    expect(classify({ status: 503, body: '' }, 5)).toEqual({ kind: 'retry', reason: 'HTTP 503' });
    expect(
      classify(
        { status: 403, body: { message: 'The security token included in the request is invalid.' } },
        1,
      ),
    ).toEqual({
      kind: 'retry',
      reason: 'HTTP 403 The security token included in the request is invalid.',
    });
  });

  it('rejects a whole request the cluster calls malformed', () => {
    const body = {
      error: {
        root_cause: [
          {
            type: 'illegal_argument_exception',
            reason: 'The bulk request must be terminated by a newline [\\n]',
          },
        ],
        type: 'illegal_argument_exception',
        reason: 'The bulk request must be terminated by a newline [\\n]',
      },
      status: 400,
    };
    expect(classify({ status: 400, body }, 1).kind).toBe('reject');
  });
});
