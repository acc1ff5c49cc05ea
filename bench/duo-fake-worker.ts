/**
 * The fake Duo API in its own process for bench/duo.bench.ts: Duo is another machine, so its
 * work must not share the event loop (or the core) with the collector being measured.
 */
import { GeneratedEventStore } from '../src/demo/duo-events.js';
import { FakeDuo } from '../src/demo/duo-fake.js';

const { events, start, step, latencyMs } = JSON.parse(process.argv[2]!) as {
  events: number;
  start: number;
  step: number;
  latencyMs: number;
};
const fake = new FakeDuo({ latencyMs });
fake.stores.authentication = new GeneratedEventStore('authentication', events, start, step);
const endpoint = await fake.listen();
process.send!({ endpoint, host: fake.host, ikey: fake.ikey, skey: fake.skey });
process.on('message', async (m) => {
  if (m === 'close') {
    await fake.close();
    process.exit(0);
  }
});
