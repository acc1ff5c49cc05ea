import type { Source, SourceContext } from '../../core/component.js';
import { sleep } from '../../core/retry.js';
import { gzipJson, rng, subscriptionMessage } from '../../demo/cwlogs.js';
import type { DemoSourceConfig } from './schema.js';

/**
 * Generates realistic CloudWatch Logs subscription records (gzip JSON, as Kinesis carries them)
 * so the whole decode path runs without AWS: a smoke test for a new install.
 */
export class DemoSource implements Source {
  readonly name: string;
  private sent = 0;

  constructor(private readonly cfg: DemoSourceConfig) {
    this.name = cfg.name;
  }

  status() {
    return { records_generated: this.sent };
  }

  async run(ctx: SourceContext): Promise<void> {
    const r = rng(this.cfg.seed);
    while (!ctx.signal.aborted && (this.cfg.max_records === 0 || this.sent < this.cfg.max_records)) {
      const kind = this.cfg.kinds[this.sent % this.cfg.kinds.length]!;
      const msg = subscriptionMessage({ kind, count: this.cfg.events_per_record, start: Date.now(), r });
      const n = this.sent++;
      await ctx.process({
        source: this.name,
        items: [
          {
            ackId: String(n),
            origin: { source: this.name, type: 'demo', ref: `demo/${kind}/${n}` },
            body: { kind: 'bytes', bytes: gzipJson(msg) },
          },
        ],
      });
      await sleep(this.cfg.interval, ctx.signal);
    }
  }
}

export function create(cfg: DemoSourceConfig): Source {
  return new DemoSource(cfg);
}
