import { describeSinkConformance } from '../../../test/sink-conformance.js';
import { FirehoseFake, fakeFirehoseClient } from '../../testing/firehose-fake.js';
import { FirehoseSink } from './index.js';
import { firehoseSinkSchema } from './schema.js';

describeSinkConformance(
  'firehose',
  async () => {
    const fake = await new FirehoseFake().start();
    fake.createStream('logs');
    const client = fakeFirehoseClient(fake.url);
    const sink = new FirehoseSink(
      firehoseSinkSchema.parse({ name: 'hose', type: 'firehose', delivery_stream: 'logs' }),
      client,
    );
    return {
      sink,
      readBack: async () =>
        (fake.streams.get('logs') ?? []).map(
          (d) => (JSON.parse(d.toString()) as { event: { id: string } }).event.id,
        ),
      // Firehose fails records by load, never by content, so a fault takes whole calls.
      failNext: (times) => fake.throttle(times),
      slowDown: (ms) => fake.slowDown(ms),
      async close() {
        await sink.close();
        client.destroy();
        await fake.stop();
      },
    };
  },
  {
    perEventFailures: false,
    idempotent: {
      reason: 'Firehose is at-least-once; every record carries event.id for the destination to drop repeats',
    },
  },
);
