import type { App } from '../../app.js';
import type { BatchResult } from '../../core/batch.js';
import type {
  Logger,
  Source,
  SourceContext,
  StateStore,
  UnitControl,
  UnitHealth,
} from '../../core/component.js';
import { ConfigError, describeError, SourceError, StateError } from '../../core/errors.js';
import type { Limits } from '../../core/limits.js';
import { PauseGate } from '../../core/pause.js';
import type { Pipeline } from '../../core/pipeline.js';
import { runBatch, writerCommitted } from '../../core/pipeline.js';
import { retryDelay, sleep } from '../../core/retry.js';

export type SourceState = 'starting' | 'running' | 'paused' | 'stopped' | 'failed';

/**
 * Runs one source as its own loop (the daemon's "thread"): restarts it with backoff when it
 * crashes, stops it for good on state errors (a corrupt checkpoint needs a person), and lets the
 * control API pause it between batches.
 */
export class SourceRunner {
  state: SourceState = 'starting';
  lastError: string | undefined;
  restarts = 0;
  batches = 0;
  lastBatchAt: string | undefined;
  private readonly gate = new PauseGate();
  private inFlight = 0;

  constructor(
    readonly source: Source,
    private readonly deps: { pipeline: Pipeline; state: StateStore; limits: Limits; log: Logger },
  ) {}

  /** A runner for one of an app's sources, with the app's pipeline, checkpoints and log. */
  static forApp(source: Source, app: App): SourceRunner {
    return new SourceRunner(source, {
      pipeline: app.pipeline,
      state: app.state,
      limits: app.config.limits,
      log: app.deps.log,
    });
  }

  pause(): void {
    if (this.gate.closed || this.state === 'stopped' || this.state === 'failed') return;
    this.gate.close();
    this.state = 'paused';
  }

  resume(): void {
    if (!this.gate.closed) return;
    this.gate.open();
    this.state = 'running';
  }

  /** Resets the restart count and the last error, its source's and its units' (the `clear` command). */
  clearErrors(): void {
    this.restarts = 0;
    this.lastError = undefined;
    this.source.clearErrors?.();
  }

  /** One running unit of the source (a shard), to pause or resume without touching the others. */
  unit(id: string): UnitControl | undefined {
    return this.source.units?.().find((u) => u.unit.id === id);
  }

  /** The source's units (shards, Duo logs), for /health and the per-unit metrics. */
  unitHealth(): UnitHealth[] {
    if (this.source.unitHealth) return this.source.unitHealth();
    return (this.source.units?.() ?? []).flatMap((u) => (u.health ? [u.health()] : []));
  }

  status() {
    return {
      name: this.source.name,
      state: this.state,
      batches: this.batches,
      in_flight: this.inFlight,
      restarts: this.restarts,
      last_batch_at: this.lastBatchAt,
      last_error: this.lastError,
      ...(this.source.status?.() ?? {}),
    };
  }

  async run(signal: AbortSignal): Promise<void> {
    const log = this.deps.log;
    const ctx: SourceContext = {
      state: this.deps.state,
      signal,
      limits: this.deps.limits,
      log,
      process: async (batch, cap): Promise<BatchResult> => {
        await this.gate.wait(signal);
        this.inFlight++;
        try {
          const res = await runBatch(batch, this.deps.pipeline, undefined, cap);
          this.batches++;
          this.lastBatchAt = new Date().toISOString();
          return res;
        } finally {
          this.inFlight--;
        }
      },
      committed: (writer) => writerCommitted(this.deps.pipeline, this.source.name, writer),
    };
    for (let attempt = 1; !signal.aborted; attempt++) {
      if (!this.gate.closed) this.state = 'running';
      const started = Date.now();
      try {
        await this.source.run(ctx);
        if (signal.aborted) break;
        // A source that returns on its own has finished its work (a demo with max_records).
        log.info({ source: this.source.name }, `source ${this.source.name} finished`);
        break;
      } catch (e) {
        this.lastError = describeError(e);
        // A checkpoint a person must look at, or a source that says retrying cannot help
        // (wrong credentials): stop it and show it as failed.
        if (
          e instanceof StateError ||
          e instanceof ConfigError ||
          (e instanceof SourceError && !e.retryable)
        ) {
          this.state = 'failed';
          log.error({ source: this.source.name }, `source ${this.source.name} stopped: ${this.lastError}`);
          return;
        }
        this.restarts++;
        // A source that ran for a while before failing starts the backoff over.
        if (Date.now() - started > 5 * 60_000) attempt = 1;
        const delay = retryDelay(attempt);
        log.error(
          { source: this.source.name, retry_in_ms: delay },
          `source ${this.source.name} failed: ${this.lastError}`,
        );
        await sleep(delay, signal);
      }
    }
    if (this.state !== 'failed') this.state = 'stopped';
  }
}
