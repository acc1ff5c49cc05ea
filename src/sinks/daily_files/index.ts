import { type FileHandle, lstat, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Logger, Sink, SinkFailure, StateStore, WriteContext } from '../../core/component.js';
import type { Deps } from '../../core/contracts.js';
import { DeliveryError, toError } from '../../core/errors.js';
import { eventIsoTime, type LogEvent, serializedDoc } from '../../core/event.js';
import { safeNameComponent } from '../../core/names.js';
import { REPLAY_GUARD_EVENTS } from '../../core/uncommitted.js';
import { LineBufferPool } from '../../formats/line_buffer.js';
import { type FileModes, modesFor, pathUnder } from '../../platform/fsutil.js';
import { dayFileName, dayOfFileName } from './naming.js';
import { marksKey, ReplayMarks } from './replay-marks.js';
import type { DailyFilesSinkConfig } from './schema.js';
import { MAX_REPLAY_SCAN_BYTES, scanForReplays } from './tail-scan.js';

/**
 * Ids remembered per open file, of what was written since it was opened. Duplicates come from
 * replays of what was delivered but not yet committed: before a crash (what is read on open,
 * kept apart and whole) or while running (a retry: what a marked writer wrote is also kept apart
 * until it commits), so for the rest a window of the latest ids is enough; it bounds memory
 * (~10 MB per busy file) on big days. Trimming keeps half.
 */
export const MAX_IDS_PER_FILE = Math.max(100_000, 2 * REPLAY_GUARD_EVENTS);
const MAX_OPEN_FILES = 32;

interface OpenDayFile {
  fh: FileHandle;
  /** Its path under the sink's root, as the replay marks name it. */
  key: string;
  /** Device and inode, so marks of a file rotated away are not taken for this one. */
  ident: string;
  /** Size, counting every append made through this handle. */
  end: number;
  /** Ids written since the file was opened (trimmed to the newest half when full). */
  ids: Set<string>;
  /**
   * Ids at the file's tail when it was opened: what a crash before may replay. Never trimmed,
   * since a unit may replay late — behind another unit's backlog that fills `ids` meanwhile (the
   * soak test saw 863 duplicates 65 MiB after their first copy when these were trimmed).
   */
  atOpen: ReadonlySet<string>;
  /** Ids written by writers that have not committed them yet (never trimmed: they may be retried). */
  held: Map<string, string>;
  heldBy: Map<string, string[]>;
}

/**
 * Daily JSON-lines files, one folder per dataset, as a log host keeps them. Appends are
 * idempotent by event id, a torn last line left by a crash is cut off on open, and old days are
 * removed by retention.
 *
 * Idempotent across crashes by construction: a writer (a runner unit) is marked in the replay
 * marks before its first append after a commit and unmarked once its source committed all it
 * delivered, so on open the guard reads ids back to the oldest write any writer may replay
 * (and at least `dedup_scan_bytes` and the last REPLAY_GUARD_EVENTS events, for writers that do
 * not say when they commit).
 */
export class DailyFilesSink implements Sink {
  readonly writesText = true;
  readonly name: string;
  private readonly files = new Map<string, OpenDayFile>();
  /**
   * One operation at a time per day file: sources write concurrently (a loop per shard), and
   * two opens of one file would each cut what they take for a torn line, which can be the other's
   * append in progress; a large append can also be split into several write() calls.
   */
  private readonly queues = new Map<string, Promise<unknown>>();
  private lastRetentionDay = '';
  private readonly modes: FileModes;
  private readonly marks: ReplayMarks;
  private readonly guarded: boolean;
  private readonly log: Logger | undefined;
  private readonly lines = new LineBufferPool();

  /** `state` keeps the replay marks; without one they last as long as the process. */
  constructor(
    private readonly cfg: DailyFilesSinkConfig,
    opts: { log?: Logger; state?: StateStore } = {},
  ) {
    this.name = cfg.name;
    this.log = opts.log;
    this.modes = modesFor(cfg.mode);
    this.marks = new ReplayMarks(opts.state, marksKey(cfg.name), (msg) =>
      this.log?.warn({ sink: this.name }, msg),
    );
    this.guarded = cfg.dedup_scan_bytes > 0;
  }

  /** Throws UnsafeNameError for a dataset that cannot be a folder name (the event is refused). */
  pathFor(dataset: string, day: string): string {
    const dir = Object.hasOwn(this.cfg.directories, dataset)
      ? this.cfg.directories[dataset]!
      : safeNameComponent(dataset, 'dataset');
    return pathUnder(this.cfg.path, dir, dayFileName(this.cfg.file_name, dir, safeNameComponent(day, 'day')));
  }

  async write(events: readonly LogEvent[], ctx: WriteContext = {}): Promise<SinkFailure[]> {
    const today = new Date().toISOString().slice(0, 10);
    const local = this.cfg.day_zone === 'local';
    const now = local ? localDay(Date.now()) : today;
    const groups = new Map<string, number[]>();
    const failures: SinkFailure[] = [];
    // A write holds a few datasets and days: name each file once (checking and resolving a path
    // per event was ~3 % of a Duo pull).
    const named = new Map<string, Map<string, string | Error>>();
    events.forEach((e, i) => {
      // The document's own @timestamp (already ISO, UTC) names its day: no second date formatting.
      const day =
        this.cfg.day_from === 'arrival' ? now : local ? localDay(e.timestamp) : eventIsoTime(e).slice(0, 10);
      let days = named.get(e.dataset);
      if (!days) {
        days = new Map();
        named.set(e.dataset, days);
      }
      let path = days.get(day);
      if (path === undefined) {
        try {
          path = this.pathFor(e.dataset, day);
        } catch (err) {
          path = toError(err);
        }
        days.set(day, path);
      }
      if (path instanceof Error) {
        failures.push({ index: i, retryable: false, error: path });
        return;
      }
      const g = groups.get(path);
      if (g) g.push(i);
      else groups.set(path, [i]);
    });
    for (const [path, idx] of groups) {
      try {
        await this.exclusive(path, () =>
          this.append(
            path,
            idx.map((i) => events[i]!),
            ctx.writer,
          ),
        );
      } catch (e) {
        const err = new DeliveryError(`cannot write ${path}: ${(e as Error).message}`, {
          sink: this.name,
          retryable: true,
          cause: e,
        });
        for (const i of idx) failures.push({ index: i, retryable: true, error: err });
      }
    }
    if (today !== this.lastRetentionDay) {
      this.lastRetentionDay = today;
      await this.applyRetention(today);
    }
    return failures;
  }

  private exclusive<T>(path: string, f: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(path) ?? Promise.resolve();
    const next = prev.then(f, f);
    const settled = next.catch(() => undefined);
    this.queues.set(path, settled);
    void settled.then(() => {
      if (this.queues.get(path) === settled) this.queues.delete(path);
    });
    return next;
  }

  private async append(path: string, events: LogEvent[], writer: string | undefined): Promise<void> {
    const file = await this.openDayFile(path);
    if (writer !== undefined) this.marks.seen(writer);
    const lines = this.lines.take();
    const fresh: string[] = [];
    try {
      for (const e of events) {
        if (file.ids.has(e.id) || file.atOpen.has(e.id) || file.held.has(e.id)) continue;
        file.ids.add(e.id);
        fresh.push(e.id);
        lines.add(serializedDoc(e));
      }
      if (file.ids.size > MAX_IDS_PER_FILE) trimOldest(file.ids, MAX_IDS_PER_FILE / 2);
      if (lines.size === 0) return;
      if (writer !== undefined && this.guarded) await this.hold(file, writer, fresh);
      try {
        await writeAll(file.fh, lines.bytes());
        file.end += lines.size;
        if (this.cfg.fsync) await file.fh.sync();
      } catch (e) {
        // The write may be partial: forget this file so the next open cuts the torn line and rescans.
        await this.closeFile(path);
        throw e;
      }
    } finally {
      this.lines.give(lines);
    }
  }

  /**
   * Marks where `writer`'s uncommitted writes begin before the first of them lands (saved first:
   * a crash right after the append must find the mark), and keeps their ids until it commits.
   */
  private async hold(file: OpenDayFile, writer: string, ids: readonly string[]): Promise<void> {
    if (this.marks.hold(file.key, file.ident, writer, file.end)) await this.marks.save();
    const mine = file.heldBy.get(writer) ?? [];
    file.heldBy.set(writer, mine);
    for (const id of ids) {
      file.held.set(id, writer);
      mine.push(id);
    }
  }

  /** `writer` committed all it delivered: a crash will not replay it, so its writes need no guard. */
  async committed(writer: string): Promise<void> {
    for (const file of this.files.values()) {
      for (const id of file.heldBy.get(writer) ?? []) if (file.held.get(id) === writer) file.held.delete(id);
      file.heldBy.delete(writer);
    }
    if (this.marks.release(writer)) await this.marks.save();
  }

  private async openDayFile(path: string): Promise<OpenDayFile> {
    const cached = this.files.get(path);
    if (cached) {
      // Most recently used last, so the eviction below closes the coldest file.
      this.files.delete(path);
      this.files.set(path, cached);
      return cached;
    }
    await mkdir(dirname(path), { recursive: true, mode: this.modes.dir });
    await this.marks.load();
    const fh = await open(path, 'a+', this.modes.file);
    const st = await fh.stat({ bigint: true });
    const key = relative(this.cfg.path, path);
    const ident = `${st.dev}:${st.ino}`;
    const scan = await scanForReplays(
      fh,
      Number(st.size),
      this.cfg.dedup_scan_bytes,
      this.marks.floor(key, ident),
    );
    if (scan.short)
      this.log?.warn(
        { sink: this.name },
        `${path}: ${this.marks.oldestWriter(key)} has not committed writes from more than ${MAX_REPLAY_SCAN_BYTES / 1024 / 1024} MiB back; a replay of them would be written again`,
      );
    const file: OpenDayFile = {
      fh,
      key,
      ident,
      end: scan.end,
      ids: new Set<string>(),
      atOpen: scan.ids,
      held: new Map(),
      heldBy: new Map(),
    };
    this.files.set(path, file);
    while (this.files.size > MAX_OPEN_FILES) await this.closeFile(this.files.keys().next().value!);
    return file;
  }

  private async closeFile(path: string): Promise<void> {
    const f = this.files.get(path);
    this.files.delete(path);
    await f?.fh.close().catch(() => undefined);
  }

  /**
   * Deletes the day files older than `days` (default `retention_days`) that were not written to
   * for as long; `dryRun` only lists them (what `logferry clean --dry-run` shows).
   */
  async applyRetention(today: string, opts: { days?: number; dryRun?: boolean } = {}): Promise<string[]> {
    const days = opts.days ?? this.cfg.retention_days;
    if (days === 0) return [];
    const cutoff = new Date(Date.parse(today) - days * 86_400_000).toISOString().slice(0, 10);
    const removed: string[] = [];
    let dirs: string[];
    try {
      dirs = await readdir(this.cfg.path);
    } catch {
      return removed;
    }
    for (const d of dirs) {
      const dir = join(this.cfg.path, d);
      // lstat: a symlinked folder in the root leads elsewhere, and retention deletes nothing there.
      if (!(await lstat(dir).catch(() => undefined))?.isDirectory()) continue;
      for (const f of await readdir(dir)) {
        const day = dayOfFileName(this.cfg.file_name, d, f);
        const p = join(dir, f);
        // A day file written to lately (a backfill of old events) is kept until it goes quiet.
        if (
          day !== undefined &&
          day < cutoff &&
          ((await stat(p).catch(() => undefined))?.mtimeMs ?? 0) < Date.parse(cutoff)
        ) {
          if (!opts.dryRun)
            await this.exclusive(p, async () => {
              await this.marks.load();
              await this.closeFile(p);
              await rm(p, { force: true });
              if (this.marks.forget(relative(this.cfg.path, p))) await this.marks.save();
            });
          removed.push(p);
        }
      }
    }
    return removed;
  }

  /**
   * Closes every open day file, each after the write under way on it; the next write opens the
   * file by name again, a new one if logrotate moved it away. Ids remembered for a closed file
   * are dropped and read again from the tail of whatever file is there then.
   */
  async reopen(): Promise<void> {
    await Promise.all([...this.files.keys()].map((p) => this.exclusive(p, () => this.closeFile(p))));
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
    for (const p of [...this.files.keys()]) await this.closeFile(p);
    await this.marks.flush();
  }
}

/** Writes all of `bytes` (a write may take only part of them). */
async function writeAll(fh: FileHandle, bytes: Buffer): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
    if (bytesWritten === 0) throw new Error(`the file took none of the last ${bytes.length - done} bytes`);
    done += bytesWritten;
  }
}

/** YYYY-MM-DD of the host's local time zone. */
function localDay(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function trimOldest(ids: Set<string>, keep: number): void {
  let drop = ids.size - keep;
  for (const id of ids) {
    if (drop-- <= 0) break;
    ids.delete(id);
  }
}

export function create(cfg: DailyFilesSinkConfig, deps?: Deps): Sink {
  return new DailyFilesSink(cfg, { log: deps?.log, state: deps?.state });
}
