import { describe, expect, it } from 'vitest';
import { defaultLimits } from '../../core/limits.js';
import { Metrics } from '../../core/metrics.js';
import { memoryLogger } from '../../platform/log.js';
import { create } from './index.js';
import { openSearchSinkSchema } from './schema.js';

describe('opensearch sink: TLS verification', () => {
  it('warns at start-up when certificate checks are off, naming only scheme and host', async () => {
    const log = memoryLogger();
    const cfg = openSearchSinkSchema.parse({
      type: 'opensearch',
      name: 'search',
      endpoint: 'https://admin:hunter2@search.corp.example:9200',
      tls: { insecure_skip_verify: true },
    });
    const sink = await create(cfg, { log, limits: defaultLimits, metrics: new Metrics() });
    await sink.close?.();
    const warnings = log.entries.filter((e) => e.level === 'warn').map((e) => e.msg);
    expect(warnings).toEqual([
      'sink search: tls.insecure_skip_verify is on, so any server on the path can pose as https://search.corp.example:9200 and receive the events and credentials; set tls.ca_file instead',
    ]);
  });
});
