/**
 * The loopback OpenSearch fake in its own process, so the benchmark's memory and CPU numbers are
 * the sender's alone and the fake gets the other core. Prints its port, exits when stdin closes.
 */
import { OpenSearchFake } from '../src/testing/opensearch-fake.js';

const fake = await new OpenSearchFake({ store: 'ids' }).start();
process.stdout.write(`${fake.port}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  process.stderr.write(`fake: ${fake.count()} documents, ${fake.requests.length} requests\n`);
  await fake.stop();
  process.exit(0);
});
