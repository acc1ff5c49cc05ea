import type { Config, SinkConfig, SourceConfig } from './config/schema.js';
import type {
  DeadLetterStore,
  Detector,
  Logger,
  Parser,
  Sink,
  Source,
  StateStore,
} from './core/component.js';
import { BoundedDeliveryMemory } from './core/delivery-memory.js';
import { ConfigError } from './core/errors.js';
import { Metrics } from './core/metrics.js';
import type { Pipeline, Route } from './core/pipeline.js';
import {
  createComponent,
  type Deps,
  deadLetterStores,
  parsers,
  sinks as sinkRegistry,
  sources as sourceRegistry,
  stateStores,
} from './registry.js';
import { createTransform } from './transforms/index.js';

export interface App {
  config: Config;
  pipeline: Pipeline;
  sinks: Map<string, Sink>;
  state: StateStore;
  deadLetter: DeadLetterStore;
  deps: Deps;
  /** Builds the configured sources (the daemon's; Lambda handlers make their own batches). */
  createSources(filter?: (s: SourceConfig) => boolean): Promise<Source[]>;
  close(): Promise<void>;
}

export interface AppOptions {
  log: Logger;
  metrics?: Metrics;
  /** Replace or add sinks (tests, `pull --stdout`). */
  sinkOverride?: SinkConfig[];
  detector?: Detector;
}

/** Builds everything a runtime needs from a validated config. */
export async function buildApp(config: Config, opts: AppOptions): Promise<App> {
  const metrics = opts.metrics ?? new Metrics();
  const baseDeps: Deps = { log: opts.log, limits: config.limits, metrics };
  const state = await createComponent<StateStore>(stateStores, config.state, baseDeps);
  const deps: Deps = { ...baseDeps, state };
  const deadLetter = await createComponent<DeadLetterStore>(deadLetterStores, config.dead_letter, deps);

  const sinkConfigs = opts.sinkOverride ?? config.sinks;
  const sinks = new Map<string, Sink>();
  for (const sc of sinkConfigs) sinks.set(sc.name, await createComponent<Sink>(sinkRegistry, sc, deps));

  const parserCache = new Map<string, Parser>();
  const loadParser = async (name: string, options: Record<string, unknown> = {}) => {
    const key = `${name}:${JSON.stringify(options)}`;
    let p = parserCache.get(key);
    if (!p) {
      const load = parsers[name];
      if (!load) throw new ConfigError(`unknown parser '${name}'`);
      p = (await load()).create(options);
      parserCache.set(key, p);
    }
    return p;
  };
  // Rules from the config (loaded only when configured), unless the caller brings its own detector.
  const detector =
    opts.detector ??
    (config.rules
      ? await (await import('./rules/detector.js')).buildDetector(config.rules, config.alerts, {
          deps,
          sinks,
          deadLetter,
        })
      : undefined);

  const routes = new Map<string, Route>();
  for (const s of config.sources) {
    const targets = opts.sinkOverride
      ? [...sinks.values()]
      : (s.sinks ?? [...sinks.keys()]).map((n) => sinks.get(n)!);
    const parser = await loadParser(s.parser, s.parser_options);
    // Files dropped in a folder may be Lambda events or base64 lines copied from a stream.
    const wrapped =
      s.type === 'inbox' ? (await import('./formats/envelope.js')).withEnvelopes(parser) : parser;
    routes.set(s.name, { parser: wrapped, sinks: targets, trustEventFields: s.trust_event_fields });
  }

  const pipeline: Pipeline = {
    route(source) {
      const r = routes.get(source);
      if (!r) throw new ConfigError(`no source named '${source}' in the config`);
      return r;
    },
    // Per-item overrides (S3 key patterns, Duo logs) load on first use.
    parser: async (name) => (name in parsers ? loadParser(name) : undefined),
    transforms: config.transforms.map(createTransform),
    detector,
    deadLetter,
    limits: config.limits,
    delivery: {
      maxAttempts: config.delivery.max_attempts,
      backoff: { baseMs: config.delivery.backoff, maxMs: config.delivery.max_backoff },
      chunkEvents: config.delivery.chunk_events,
    },
    log: opts.log,
    metrics,
    memory: new BoundedDeliveryMemory(),
  };

  return {
    config,
    pipeline,
    sinks,
    state,
    deadLetter,
    deps,
    async createSources(filter = () => true) {
      const out: Source[] = [];
      for (const sc of config.sources.filter(filter))
        out.push(await createComponent<Source>(sourceRegistry, sc, deps));
      return out;
    },
    async close() {
      await detector?.close();
      for (const s of sinks.values()) await s.close();
    },
  };
}
