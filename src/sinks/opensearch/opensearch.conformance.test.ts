import type { ConformanceHarness } from '../../../test/sink-conformance.js';
import { describeSinkConformance } from '../../../test/sink-conformance.js';
import { OpenSearchFake } from '../../testing/opensearch-fake.js';
import { create } from './index.js';
import { openSearchSinkSchema } from './schema.js';

/** The sink against a fresh fake cluster; `failStatus` is what the cluster answers failed items with. */
function harness(extra: Record<string, unknown>, failStatus: 429 | 503) {
  return async (): Promise<ConformanceHarness> => {
    const fake = await new OpenSearchFake().start();
    const sink = await create(
      openSearchSinkSchema.parse({ name: 'search', type: 'opensearch', endpoint: fake.url, ...extra }),
    );
    return {
      sink,
      readBack: async () => fake.docs().map((d) => d.id),
      failNext: (times, dataset) =>
        fake.failBulks(
          times,
          failStatus,
          dataset ? (_id, doc) => (doc.event as { dataset?: string }).dataset === dataset : undefined,
        ),
      slowDown: (ms) => fake.slowDown(ms),
      async close() {
        await sink.close();
        await fake.stop();
      },
    };
  };
}

describeSinkConformance('opensearch', harness({}, 429), { perEventFailures: true, idempotent: true });

// The same contract with writes joined by time: close() must still send what waits.
describeSinkConformance('opensearch with flush_interval', harness({ flush_interval: '200ms' }, 503), {
  perEventFailures: true,
  idempotent: true,
});
