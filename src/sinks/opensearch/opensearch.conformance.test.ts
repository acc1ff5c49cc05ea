import { describeSinkConformance } from '../../../test/sink-conformance.js';
import { OpenSearchFake } from '../../testing/opensearch-fake.js';
import { create } from './index.js';
import { openSearchSinkSchema } from './schema.js';

describeSinkConformance(
  'opensearch',
  async () => {
    const fake = await new OpenSearchFake().start();
    const sink = await create(
      openSearchSinkSchema.parse({ name: 'search', type: 'opensearch', endpoint: fake.url }),
    );
    return {
      sink,
      readBack: async () => fake.docs().map((d) => d.id),
      failNext: (times, dataset) =>
        fake.failBulks(
          times,
          429,
          dataset ? (_id, doc) => (doc.event as { dataset?: string }).dataset === dataset : undefined,
        ),
      slowDown: (ms) => fake.slowDown(ms),
      async close() {
        await sink.close();
        await fake.stop();
      },
    };
  },
  { perEventFailures: true, idempotent: true },
);

// The same contract with writes joined by time: close() must still send what waits.
describeSinkConformance(
  'opensearch with flush_interval',
  async () => {
    const fake = await new OpenSearchFake().start();
    const sink = await create(
      openSearchSinkSchema.parse({
        name: 'search',
        type: 'opensearch',
        endpoint: fake.url,
        flush_interval: '200ms',
      }),
    );
    return {
      sink,
      readBack: async () => fake.docs().map((d) => d.id),
      failNext: (times, dataset) =>
        fake.failBulks(
          times,
          503,
          dataset ? (_id, doc) => (doc.event as { dataset?: string }).dataset === dataset : undefined,
        ),
      slowDown: (ms) => fake.slowDown(ms),
      async close() {
        await sink.close();
        await fake.stop();
      },
    };
  },
  { perEventFailures: true, idempotent: true },
);
