import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ItemResult, isAcked, type RawItem } from '../../core/batch.js';
import type { Logger, Source, SourceContext } from '../../core/component.js';
import { describeError } from '../../core/errors.js';
import { retryDelay, sourceRetry } from '../../core/retry.js';
import { describeKind, openRegularFile } from '../../platform/fsutil.js';
import { UnitRunner } from '../../runtimes/runner/runner.js';
import type { PassEnd, SettledRead, WorkUnit } from '../../runtimes/runner/unit.js';
import type { InboxSourceConfig } from './schema.js';

/** How one file's delivery ended: cleared from the inbox, or left for a retry at its own time. */
export interface FileOutcome {
  name: string;
  result: ItemResult;
}

const IGNORED = /^\.|\.(tmp|part|crdownload|swp)$|~$/;

/**
 * Files handed to the pipeline in one delivery, so that the daemon's decode workers read several
 * at once (one file at a time left all but one core idle). The event cap still commits after any
 * file that reaches it (what a crash can replay stays within the cap plus one file, as for every
 * source), and what the cap defers goes on decoding for the next delivery; at most this many
 * files are decoded ahead of delivery.
 */
export const FILES_PER_DELIVERY = 8;

/**
 * Watches a folder (by polling: portable, and immune to lost inotify events) and ingests each
 * dropped file. The folder is one work unit whose reads are the files ready now; files do not
 * wait for each other, so a file that failed is retried on its own back-off while later ones pass.
 * (Per-file units would give each a runner of its own for nothing: a file is read once, whole.)
 */
export class InboxSource implements Source {
  readonly name: string;
  private readonly donePath: string;
  /** File name → when to try it again after a failed delivery. */
  private readonly failures = new Map<string, number>();
  private readonly attempts = new Map<string, number>();
  /** Entries already reported as not regular files, so each is logged once, not every poll. */
  private readonly skipped = new Set<string>();
  private processed = 0;
  waiting = 0;
  private runner: UnitRunner<FileOutcome[]> | undefined;

  constructor(private readonly cfg: InboxSourceConfig) {
    this.name = cfg.name;
    this.donePath = cfg.done_path ?? join(cfg.path, '.done');
  }

  status() {
    return {
      path: this.cfg.path,
      files_processed: this.processed,
      files_waiting: this.waiting,
      files_retrying: this.failures.size,
    };
  }

  units(): UnitRunner<FileOutcome[]>[] {
    return this.runner ? [this.runner] : [];
  }

  async run(ctx: SourceContext): Promise<void> {
    await mkdir(this.cfg.path, { recursive: true });
    this.runner = new UnitRunner(new FolderUnit(this, ctx.log), {
      process: ctx.process,
      committed: ctx.committed,
      signal: ctx.signal,
      log: ctx.log,
      intervalMs: this.cfg.poll_interval,
      // Files are streams: their size bounds nothing in memory, only the count and the event cap do.
      bound: { items: FILES_PER_DELIVERY, bytes: Number.POSITIVE_INFINITY },
    });
    await this.runner.run();
  }

  /**
   * Regular files that have not changed for `settle` ms, oldest first. Symlinks (which could
   * point at any file logferry can read), folders, pipes and devices are skipped and logged once.
   */
  async readyFiles(now = Date.now(), log?: Logger): Promise<string[]> {
    const names = (await readdir(this.cfg.path)).filter((n) => !IGNORED.test(n));
    const found: { name: string; mtime: number }[] = [];
    for (const name of this.skipped) if (!names.includes(name)) this.skipped.delete(name);
    for (const name of names) {
      const path = join(this.cfg.path, name);
      const st = await lstat(path).catch(() => undefined);
      if (!st) continue;
      if (!st.isFile()) {
        if (!this.skipped.has(name))
          log?.warn(
            { file: path },
            `skipping ${path}: ${describeKind(st)}; the inbox reads regular files only`,
          );
        this.skipped.add(name);
        continue;
      }
      if (now - st.mtimeMs < this.cfg.settle) continue;
      const retryAt = this.failures.get(name);
      if (retryAt !== undefined && retryAt > now) continue;
      found.push({ name, mtime: st.mtimeMs });
    }
    return found.sort((a, b) => a.mtime - b.mtime || a.name.localeCompare(b.name)).map((f) => f.name);
  }

  /** Delivers one file now and clears it or schedules its retry; true when it left the inbox. */
  async ingest(name: string, ctx: SourceContext): Promise<boolean> {
    const item = await this.fileItem(name, ctx.log);
    if (!item) return false;
    const result = (await ctx.process({ source: this.name, items: [item] })).items[0]!;
    return this.settleFile({ name, result }, ctx.log);
  }

  /** The file as an item read as a stream, or undefined (logged) when it is not a regular file. */
  async fileItem(name: string, log: Logger): Promise<RawItem | undefined> {
    const path = join(this.cfg.path, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st) return undefined;
    if (!st.isFile()) {
      log.warn({ file: path }, `skipping ${path}: ${describeKind(st)}; the inbox reads regular files only`);
      return undefined;
    }
    return {
      ackId: path,
      origin: { source: this.name, type: 'file', ref: path, attrs: { size: st.size } },
      body: { kind: 'stream', open: () => openRegularFile(path), size: st.size, file: path },
    };
  }

  async settleFile({ name, result }: FileOutcome, log: Logger): Promise<boolean> {
    const path = join(this.cfg.path, name);
    if (!isAcked(result)) {
      const attempt = (this.attempts.get(name) ?? 0) + 1;
      this.attempts.set(name, attempt);
      this.failures.set(name, Date.now() + retryDelay(attempt, { ...sourceRetry, floorMs: 1000 }));
      log.warn({ file: path, attempt }, `will retry ${path}: ${result.error ?? 'delivery failed'}`);
      return false;
    }
    this.failures.delete(name);
    this.attempts.delete(name);
    try {
      if (this.cfg.after === 'delete') await rm(path, { force: true });
      else {
        await mkdir(this.donePath, { recursive: true });
        await rename(path, join(this.donePath, name));
      }
    } catch (e) {
      log.error({ file: path }, `cannot clear ${path} from the inbox: ${describeError(e)}`);
    }
    this.processed++;
    log.info(
      { file: path, events: result.events, status: result.status, rejected: result.rejected ?? 0 },
      `${result.status === 'dead-lettered' ? 'dead-lettered' : 'ingested'} ${path}`,
    );
    return true;
  }
}

/** The inbox folder as a work unit: each read is the files ready now, oldest first. */
class FolderUnit implements WorkUnit<FileOutcome[]> {
  readonly id: string;

  constructor(
    private readonly inbox: InboxSource,
    private readonly log: Logger,
  ) {
    this.id = inbox.name;
  }

  async load(): Promise<FileOutcome[] | undefined> {
    return undefined;
  }

  async *read(
    _from: FileOutcome[] | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<SettledRead<FileOutcome[]>, PassEnd> {
    while (!signal.aborted) {
      const ready = await this.inbox.readyFiles(Date.now(), this.log);
      const items: RawItem[] = [];
      const names: string[] = [];
      for (const name of ready) {
        const item = await this.inbox.fileItem(name, this.log);
        if (!item) continue;
        items.push(item);
        names.push(name);
      }
      this.inbox.waiting = items.length;
      yield {
        batch: { source: this.inbox.name, items },
        settle: (from, results) => results.map((result, i) => ({ name: names[from + i]!, result })),
      };
    }
    return 'idle';
  }

  async commit(outcomes: FileOutcome[]): Promise<void> {
    for (const outcome of outcomes) {
      await this.inbox.settleFile(outcome, this.log);
      this.inbox.waiting--;
    }
  }
}

export function create(cfg: InboxSourceConfig): Source {
  return new InboxSource(cfg);
}
