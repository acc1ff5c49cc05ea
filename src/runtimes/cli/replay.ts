import type { Command } from 'commander';
import { type App, buildApp } from '../../app.js';
import { loadConfigFile } from '../../config/load.js';
import type { DeadLetterEntry, DeadLetterStore, Sink, StoredDeadLetter } from '../../core/component.js';
import { ConfigError, describeError } from '../../core/errors.js';
import type { LogEvent } from '../../core/event.js';
import { type Pipeline, type Route, runBatch } from '../../core/pipeline.js';
import { createLogger } from '../../platform/log.js';
import { EXIT, fail } from './exit.js';
import { ProgressLine } from './progress.js';

export interface ReplayOptions {
  /** Send to this sink instead of the one recorded (events) or the source's sinks (items). */
  sink?: string;
  /** Only dead letters stored at or after this time. */
  since?: Date;
  /** Only these dead letters (the dashboard's replay button sends one). */
  ids?: ReadonlySet<string>;
  report: (line: string) => void;
  /** Called after each dead letter is read, with the counts so far (for a progress line). */
  progress?: (counts: ReplayProgress) => void;
}

export interface ReplayProgress extends ReplaySummary {
  /** Dead letters read from the store so far (events wait for a full write before they count). */
  read: number;
}

export interface ReplaySummary {
  replayed: number;
  kept: number;
  skipped: number;
}

/** Events sent to a sink in one write during a replay. */
const EVENT_BATCH = 500;

/**
 * Sends dead letters again and removes each one only when it went through. `event` entries go
 * to their sink (one write per group); `item` entries with their bytes are parsed again with the
 * recorded parser and run through the pipeline. Anything that still fails stays in the store.
 */
export async function replay(app: App, opts: ReplayOptions): Promise<ReplaySummary> {
  const sum: ReplaySummary = { replayed: 0, kept: 0, skipped: 0 };
  if (opts.sink && !app.sinks.has(opts.sink))
    throw new ConfigError(`no sink named '${opts.sink}' in the config`);
  const pending = new Map<string, StoredDeadLetter[]>();
  const flush = async (sinkName: string) => {
    const entries = pending.get(sinkName) ?? [];
    pending.delete(sinkName);
    if (entries.length) await replayEvents(app.sinks.get(sinkName)!, entries, app, opts, sum);
  };

  let read = 0;
  for await (const entry of app.deadLetter.list()) {
    opts.progress?.({ ...sum, read: ++read });
    if (opts.since && Date.parse(entry.time) < opts.since.getTime()) continue;
    if (opts.ids && !opts.ids.has(entry.id)) continue;
    if (entry.kind === 'event') {
      const target = opts.sink ?? entry.sink;
      if (!target || !app.sinks.has(target) || !entry.event) {
        sum.skipped++;
        opts.report(
          `skipped ${entry.id}: ${!entry.event ? 'no event recorded' : `no sink '${target}' in the config`}`,
        );
        continue;
      }
      const list = pending.get(target) ?? [];
      list.push(entry);
      pending.set(target, list);
      if (list.length >= EVENT_BATCH) await flush(target);
    } else if (entry.kind === 'item') {
      await replayItem(entry, app, opts, sum);
    } else {
      sum.skipped++;
      opts.report(`skipped ${entry.id}: ${entry.kind} dead letters are replayed by their alert output`);
    }
  }
  for (const name of [...pending.keys()]) await flush(name);
  opts.progress?.({ ...sum, read });
  return sum;
}

async function replayEvents(
  sink: Sink,
  entries: StoredDeadLetter[],
  app: App,
  opts: ReplayOptions,
  sum: ReplaySummary,
): Promise<void> {
  const events = entries.map((e) => e.event as LogEvent);
  let failures: Awaited<ReturnType<Sink['write']>>;
  try {
    failures = await sink.write(events);
  } catch (e) {
    failures = events.map((_, index) => ({ index, retryable: true, error: e as Error }));
  }
  const failed = new Map(failures.map((f) => [f.index, f]));
  for (const [i, entry] of entries.entries()) {
    const f = failed.get(i);
    if (f) {
      sum.kept++;
      opts.report(`kept ${entry.id}: ${sink.name}: ${describeError(f.error)}`);
      continue;
    }
    await app.deadLetter.remove(entry.id);
    sum.replayed++;
    opts.report(`replayed ${entry.id} → ${sink.name}`);
  }
}

async function replayItem(
  entry: StoredDeadLetter,
  app: App,
  opts: ReplayOptions,
  sum: ReplaySummary,
): Promise<void> {
  const keep = (why: string) => {
    sum.kept++;
    opts.report(`kept ${entry.id}: ${why}`);
  };
  if (!entry.data) {
    sum.skipped++;
    opts.report(
      `skipped ${entry.id}: the original bytes were not kept (streamed input); re-read ${entry.origin.ref}`,
    );
    return;
  }
  const parser = entry.parser ? await app.pipeline.parser(entry.parser) : undefined;
  const own = sourceRoute(app, entry.source);
  const sinks = opts.sink ? [app.sinks.get(opts.sink)!] : own?.sinks;
  if (!sinks || !(parser ?? own)) {
    sum.skipped++;
    opts.report(`skipped ${entry.id}: source '${entry.source}' is not in the config; name a --sink`);
    return;
  }
  // The source's trust setting holds for its replays too, so ids come out as they did the first time.
  const route: Route = {
    parser: (parser ?? own?.parser)!,
    sinks,
    trustEventFields: own?.trustEventFields,
  };
  // New failures are caught here first: the entry is replaced only if the item went through.
  const captured = new CapturingDeadLetters();
  const p: Pipeline = { ...app.pipeline, route: () => route, deadLetter: captured };
  const res = await runBatch(
    {
      source: entry.source,
      items: [
        {
          ackId: entry.id,
          origin: entry.origin,
          body: { kind: 'base64', text: entry.data },
          ...(entry.parser ? { parser: entry.parser } : {}),
        },
      ],
    },
    p,
  );
  const r = res.items[0]!;
  if (r.status !== 'delivered' || r.rejected)
    return keep(r.error ?? captured.entries[0]?.error ?? 'parts of it are still rejected');
  // Events a sink refused for good are more precise dead letters than the whole item.
  for (const c of captured.entries) {
    await app.deadLetter.put({ ...c, attempts: c.attempts + entry.attempts });
  }
  await app.deadLetter.remove(entry.id);
  sum.replayed++;
  opts.report(
    `replayed ${entry.id}: ${r.events} events${captured.entries.length ? `, ${captured.entries.length} refused again (new dead letters)` : ''}`,
  );
}

function sourceRoute(app: App, source: string): Route | undefined {
  try {
    return app.pipeline.route(source);
  } catch {
    return undefined;
  }
}

/** Holds the dead letters of one replayed item until it is known whether the item went through. */
class CapturingDeadLetters implements DeadLetterStore {
  readonly entries: DeadLetterEntry[] = [];
  async put(entry: DeadLetterEntry): Promise<string> {
    this.entries.push(entry);
    return String(this.entries.length);
  }
  async *list(): AsyncIterable<StoredDeadLetter> {}
  async remove(): Promise<void> {}
}

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('send dead letters again; each is removed only when it went through')
    .option('-c, --config <file>', 'config file', 'config/examples/local.yaml')
    .option('--sink <name>', 'send to this sink (default: the sink recorded, or the source’s sinks)')
    .option('--since <date>', 'only dead letters stored at or after this date/time (ISO 8601)')
    .addHelpText('after', '\nExit codes: 0 all replayed, 1 some were kept (still failing), 2 usage error.')
    .action(async (o: { config: string; sink?: string; since?: string }) => {
      try {
        const since = o.since ? new Date(o.since) : undefined;
        if (since && Number.isNaN(since.getTime()))
          throw new ConfigError(
            `--since '${o.since}' is not a date (use e.g. 2026-11-25 or 2026-11-25T10:00:00Z)`,
          );
        const config = await loadConfigFile(o.config);
        const app = await buildApp(config, { log: createLogger(config.daemon.log_level) });
        const bar = new ProgressLine();
        try {
          const sum = await replay(app, {
            sink: o.sink,
            since,
            report: (l) => bar.above(`${l}\n`, process.stdout),
            progress: (c) =>
              bar.update(
                `replay: ${c.read} dead letters read, ${c.replayed} replayed, ${c.kept} kept, ${c.skipped} skipped`,
              ),
          });
          bar.done();
          process.stderr.write(`replayed ${sum.replayed}, kept ${sum.kept}, skipped ${sum.skipped}\n`);
          process.exitCode = sum.kept > 0 ? EXIT.failure : EXIT.ok;
        } finally {
          await app.close();
        }
      } catch (e) {
        fail(e);
      }
    });
}
