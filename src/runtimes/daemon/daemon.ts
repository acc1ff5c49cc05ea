import type { Server } from 'node:http';
import { type App, buildApp } from '../../app.js';
import type { Config } from '../../config/schema.js';
import { redactConfig, resolveSecret } from '../../config/secrets.js';
import type { Detector, Logger } from '../../core/component.js';
import { daemonSearchBackend } from '../../search/backend.js';
import { searchApi } from './api/search.js';
import { DecodePool, workerCount, workerSpec } from './decode/pool.js';
import { type DingResponder, startDingResponder } from './ding.js';
import { checkExposure, startStatusServer } from './status-server.js';
import { SourceRunner } from './supervisor.js';

export interface Daemon {
  app: App;
  runners: SourceRunner[];
  server: Server | undefined;
  ding: DingResponder | undefined;
  /**
   * Resolves when the daemon stops, or when every source finished its work on its own. A source
   * that failed keeps the status API up until a signal: a daemon that exits hides why it stopped.
   */
  done: Promise<void>;
  stop(): Promise<void>;
  /** Closes and reopens every output file (the `rotate` command, SIGHUP); names what reopened. */
  rotate(): Promise<string[]>;
}

/**
 * Reopens what keeps files open: day-file sinks, and a dead-letter store if it ever keeps one
 * (the file store writes each entry to a file of its own and closes it at once).
 */
export async function reopenOutputs(app: App, log: Logger): Promise<string[]> {
  const reopened: string[] = [];
  for (const sink of app.sinks.values()) {
    if (!sink.reopen) continue;
    await sink.reopen();
    reopened.push(sink.name);
  }
  if (app.deadLetter.reopen) {
    await app.deadLetter.reopen();
    reopened.push('dead_letter');
  }
  log.info({ reopened }, `rotate: reopened ${reopened.join(', ') || 'nothing (no output keeps files open)'}`);
  return reopened;
}

/** Starts every configured source as its own loop, plus the status API. */
export async function startDaemon(
  config: Config,
  opts: {
    log: Logger;
    detector?: Detector;
    statusListen?: string | false;
    /** Instead of `daemon.workers`. */
    workers?: 'auto' | number;
  },
): Promise<Daemon> {
  const listen = opts.statusListen ?? config.daemon.status_listen;
  const tokenRef = config.daemon.status_token;
  const token = listen && tokenRef !== undefined ? await resolveSecret(tokenRef) : undefined;
  // Before any source starts: an API that would be open to the network stops the daemon here.
  if (listen) checkExposure(listen, token);
  const app = await buildApp(config, { log: opts.log, detector: opts.detector });
  const workers = workerCount(opts.workers ?? config.daemon.workers);
  const decoder = workers > 0 ? new DecodePool(workerSpec(config), workers) : undefined;
  app.pipeline.decoder = decoder;
  const sources = await app.createSources();
  const runners = sources.map((s) => SourceRunner.forApp(s, app));
  const search = listen ? await daemonSearchBackend(app) : undefined;
  const rotate = () => reopenOutputs(app, opts.log);
  const server = listen
    ? await startStatusServer(listen, {
        runners,
        metrics: app.pipeline.metrics,
        startedAt: new Date(),
        redactedConfig: redactConfig(config),
        log: opts.log,
        token,
        allowedHosts: config.daemon.status_allowed_hosts,
        maxLagMs: config.daemon.health.max_lag,
        lagIntervals: config.daemon.health.lag_intervals,
        rotate,
        api: searchApi(app, runners, search),
      })
    : undefined;
  const udp = config.daemon.udp;
  const ding = udp ? await startDingResponder(udp, { runners, log: opts.log, rotate }) : undefined;
  const controller = new AbortController();
  const stopped = new Promise<void>((r) =>
    controller.signal.addEventListener('abort', () => r(), { once: true }),
  );
  const keepServing = () => (server || ding) && runners.some((r) => r.state === 'failed');
  const done = Promise.all(runners.map((r) => r.run(controller.signal))).then(() => {
    if (!keepServing() || controller.signal.aborted) return;
    opts.log.error({}, 'no source is running; the status API stays up until the daemon is stopped');
    return stopped;
  });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      controller.abort();
      const timeout = new Promise<'timeout'>((r) =>
        setTimeout(() => r('timeout'), config.daemon.drain_timeout).unref(),
      );
      if ((await Promise.race([done, timeout])) === 'timeout') {
        opts.log.warn({}, `sources did not drain within ${config.daemon.drain_timeout} ms; closing anyway`);
      }
      await app.close();
      await decoder?.close();
      // The store's search connection closes with its sink; the files reader is the daemon's own.
      if (search?.kind === 'files') await search.close();
      await ding?.close();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    })();
    return stopping;
  };
  return { app, runners, server, ding, done, stop, rotate };
}
