import { type FileHandle, lstat, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Sink, SinkFailure } from '../../core/component.js';
import { DeliveryError, toError } from '../../core/errors.js';
import { eventIsoTime, type LogEvent, serializedDoc } from '../../core/event.js';
import { safeNameComponent } from '../../core/names.js';
import { REPLAY_GUARD_EVENTS } from '../../core/uncommitted.js';
import { type FileModes, modesFor, pathUnder } from '../../platform/fsutil.js';
import { dayFileName, dayOfFileName } from './naming.js';
import type { DailyFilesSinkConfig } from './schema.js';

/**
 * Ids remembered per open file, of what was written since it was opened. Duplicates come from
 * replays of what was delivered but not yet committed (before a crash: the tail read on open,
 * kept apart and whole; while running: a retry of a recent write), so a window of the latest ids
 * is enough; it bounds memory (~10 MB per busy file) on big days. Trimming keeps half, which still
 * covers the replay guard (core/uncommitted.ts).
 */
export const MAX_IDS_PER_FILE = Math.max(100_000, 2 * REPLAY_GUARD_EVENTS);
const MAX_OPEN_FILES = 32;

interface OpenDayFile {
  fh: FileHandle;
  /** Ids written since the file was opened (trimmed to the newest half when full). */
  ids: Set<string>;
  /**
   * Ids at the file's tail when it was opened: what a crash before may replay. Never trimmed,
   * since a unit may replay late — behind another unit's backlog that fills `ids` meanwhile (the
   * soak test saw 863 duplicates 65 MiB after their first copy when these were trimmed).
   */
  atOpen: ReadonlySet<string>;
}

/**
 * Daily JSON-lines files, one folder per dataset, as a log host keeps them. Appends are
 * idempotent by event id (see `dedup_scan_bytes`), a torn last line left by a crash is cut off
 * on open, and old days are removed by retention.
 */
export class DailyFilesSink implements Sink {
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

  constructor(private readonly cfg: DailyFilesSinkConfig) {
    this.name = cfg.name;
    this.modes = modesFor(cfg.mode);
  }

  /** Throws UnsafeNameError for a dataset that cannot be a folder name (the event is refused). */
  pathFor(dataset: string, day: string): string {
    const dir = Object.hasOwn(this.cfg.directories, dataset)
      ? this.cfg.directories[dataset]!
      : safeNameComponent(dataset, 'dataset');
    return pathUnder(this.cfg.path, dir, dayFileName(this.cfg.file_name, dir, safeNameComponent(day, 'day')));
  }

  async write(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    const today = new Date().toISOString().slice(0, 10);
    const local = this.cfg.day_zone === 'local';
    const now = local ? localDay(Date.now()) : today;
    const groups = new Map<string, number[]>();
    const failures: SinkFailure[] = [];
    events.forEach((e, i) => {
      // The document's own @timestamp (already ISO, UTC) names its day: no second date formatting.
      const day =
        this.cfg.day_from === 'arrival' ? now : local ? localDay(e.timestamp) : eventIsoTime(e).slice(0, 10);
      let path: string;
      try {
        path = this.pathFor(e.dataset, day);
      } catch (err) {
        failures.push({ index: i, retryable: false, error: toError(err) });
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

  private async append(path: string, events: LogEvent[]): Promise<void> {
    const file = await this.openDayFile(path);
    let text = '';
    for (const e of events) {
      if (file.ids.has(e.id) || file.atOpen.has(e.id)) continue;
      file.ids.add(e.id);
      text += `${serializedDoc(e)}\n`;
    }
    if (file.ids.size > MAX_IDS_PER_FILE) trimOldest(file.ids, MAX_IDS_PER_FILE / 2);
    if (text === '') return;
    try {
      await file.fh.appendFile(text);
      if (this.cfg.fsync) await file.fh.sync();
    } catch (e) {
      // The write may be partial: forget this file so the next open cuts the torn line and rescans.
      await this.closeFile(path);
      throw e;
    }
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
    const fh = await open(path, 'a+', this.modes.file);
    const atOpen = await scanTail(fh, this.cfg.dedup_scan_bytes);
    const file = { fh, ids: new Set<string>(), atOpen };
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
              await this.closeFile(p);
              await rm(p, { force: true });
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

/**
 * Cuts a torn last line and returns the event ids at the file's end: at least `minBytes` of it,
 * and on until the ids of the last REPLAY_GUARD_EVENTS events are known, so whatever a crash can
 * replay (core/uncommitted.ts) is recognized however long its lines are. `minBytes` 0 turns it off.
 */
async function scanTail(fh: FileHandle, minBytes: number): Promise<Set<string>> {
  const { size } = await fh.stat();
  if (size === 0) return new Set();
  const end = await cutTornLine(fh, size);
  if (minBytes === 0) return new Set();
  for (let window = minBytes; ; window *= 2) {
    const start = Math.max(0, end - window);
    const ids = await idsBetween(fh, start, end);
    if (ids.size >= REPLAY_GUARD_EVENTS || start === 0) return ids;
  }
}

/** A crash mid-append left half a line; it will be written again whole by the replay. Returns the new size. */
async function cutTornLine(fh: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunk.length);
    await fh.read(chunk, 0, end - start, start);
    const nl = chunk.subarray(0, end - start).lastIndexOf(0x0a);
    if (nl !== -1) {
      if (start + nl + 1 !== size) await fh.truncate(start + nl + 1);
      return start + nl + 1;
    }
    end = start;
  }
  await fh.truncate(0);
  return 0;
}

async function idsBetween(fh: FileHandle, start: number, end: number): Promise<Set<string>> {
  const ids = new Set<string>();
  const buf = Buffer.alloc(end - start);
  await fh.read(buf, 0, buf.length, start);
  const lines = buf.toString('utf8').split('\n');
  if (start > 0) lines.shift(); // the first line may begin before the window
  for (const line of lines) {
    if (!line) continue;
    try {
      const id = (JSON.parse(line) as { event?: { id?: unknown } }).event?.id;
      if (typeof id === 'string') ids.add(id);
    } catch {
      // A line someone else wrote; it has no id to dedup against.
    }
  }
  return ids;
}

export function create(cfg: DailyFilesSinkConfig): Sink {
  return new DailyFilesSink(cfg);
}
