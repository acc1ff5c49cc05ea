import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Batch } from '../../core/batch.js';
import { isAcked } from '../../core/batch.js';
import type { Logger, Source, SourceContext } from '../../core/component.js';
import { describeError } from '../../core/errors.js';
import { describeKind, openRegularFile } from '../../core/fsutil.js';
import { retryDelay, sleep, sourceRetry } from '../../core/retry.js';
import type { InboxSourceConfig } from './schema.js';

const IGNORED = /^\.|\.(tmp|part|crdownload|swp)$|~$/;

/** Watches a folder (by polling: portable, and immune to lost inotify events) and ingests each dropped file. */
export class InboxSource implements Source {
  readonly name: string;
  private readonly donePath: string;
  /** File name → when to try it again after a failed delivery. */
  private readonly failures = new Map<string, number>();
  private readonly attempts = new Map<string, number>();
  /** Entries already reported as not regular files, so each is logged once, not every poll. */
  private readonly skipped = new Set<string>();
  private processed = 0;
  private waiting = 0;

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

  async run(ctx: SourceContext): Promise<void> {
    await mkdir(this.cfg.path, { recursive: true });
    while (!ctx.signal.aborted) {
      const ready = await this.readyFiles(Date.now(), ctx.log);
      this.waiting = ready.length;
      for (const name of ready) {
        if (ctx.signal.aborted) break;
        await this.ingest(name, ctx);
        this.waiting--;
      }
      await sleep(this.cfg.poll_interval, ctx.signal);
    }
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

  async ingest(name: string, ctx: SourceContext): Promise<boolean> {
    const path = join(this.cfg.path, name);
    const st = await lstat(path);
    if (!st.isFile()) {
      ctx.log.warn(
        { file: path },
        `skipping ${path}: ${describeKind(st)}; the inbox reads regular files only`,
      );
      return false;
    }
    const batch: Batch = {
      source: this.name,
      items: [
        {
          ackId: path,
          origin: { source: this.name, type: 'file', ref: path, attrs: { size: st.size } },
          body: { kind: 'stream', open: () => openRegularFile(path), size: st.size, file: path },
        },
      ],
    };
    const result = (await ctx.process(batch)).items[0]!;
    if (!isAcked(result)) {
      const attempt = (this.attempts.get(name) ?? 0) + 1;
      this.attempts.set(name, attempt);
      this.failures.set(name, Date.now() + retryDelay(attempt, { ...sourceRetry, floorMs: 1000 }));
      ctx.log.warn({ file: path, attempt }, `will retry ${path}: ${result.error ?? 'delivery failed'}`);
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
      ctx.log.error({ file: path }, `cannot clear ${path} from the inbox: ${describeError(e)}`);
    }
    this.processed++;
    ctx.log.info(
      { file: path, events: result.events, status: result.status, rejected: result.rejected ?? 0 },
      `${result.status === 'dead-lettered' ? 'dead-lettered' : 'ingested'} ${path}`,
    );
    return true;
  }
}

export function create(cfg: InboxSourceConfig): Source {
  return new InboxSource(cfg);
}
