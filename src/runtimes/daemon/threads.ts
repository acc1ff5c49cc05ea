import type { UnitControl } from '../../core/component.js';
import { DUO_WATCHER_FOLDERS } from '../../sources/duo/import.js';
import type { SourceRunner } from './supervisor.js';

/**
 * The daemon's "threads", as duo_watcher's operators know them: what the status answer lists one
 * line each and what `thread NAME …` commands name. A Duo source's logs are `auth`, `admin`,
 * `phone` (`SOURCE.auth` … when several sources have logs); a source with runner units (Kinesis
 * shards) is one thread under its name plus one per unit, `SOURCE/UNIT`; any other source is one
 * thread under its name.
 */
export interface Thread {
  name: string;
  runner: SourceRunner;
  /** One Duo log of the runner's source, as its status reports it. */
  log?: { name: string; view: LogView };
  /** The unit to steer, when the source runs this thread as a runner unit. */
  unit?: UnitControl;
}

export interface LogView {
  state?: string;
  checkpoint?: string;
  polls?: number;
  interval?: number;
  last_poll?: string;
}

/** What the Argus daemon replied with for a thread that had not run a cycle for four intervals. */
const DEAD_AFTER_INTERVALS = 4;

const pad = (n: number) => String(n).padStart(2, '0');
/** Local time, as duo_watcher printed it (the host's clock, not UTC). */
const hms = (d: Date) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
const ymdhms = (d: Date) =>
  `${pad(d.getFullYear() % 100)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms(d)}`;

function logsOf(runner: SourceRunner): Record<string, LogView> | undefined {
  const logs = (runner.status() as { logs?: unknown }).logs;
  return logs && typeof logs === 'object' ? (logs as Record<string, LogView>) : undefined;
}

function unitsOf(runner: SourceRunner): readonly UnitControl[] {
  return runner.source.units?.() ?? [];
}

export function threadsOf(runners: readonly SourceRunner[]): Thread[] {
  const withLogs = runners.filter((r) => logsOf(r));
  const threads: Thread[] = [];
  for (const runner of runners) {
    const logs = logsOf(runner);
    if (!logs) {
      threads.push({ name: runner.source.name, runner });
      for (const unit of unitsOf(runner))
        threads.push({ name: `${runner.source.name}/${unit.unit.id}`, runner, unit });
      continue;
    }
    for (const [log, view] of Object.entries(logs)) {
      const short = DUO_WATCHER_FOLDERS[log as keyof typeof DUO_WATCHER_FOLDERS] ?? log;
      const name = withLogs.length > 1 ? `${runner.source.name}.${short}` : short;
      const unit = runner.unit(log);
      threads.push({ name, runner, log: { name: log, view }, ...(unit ? { unit } : {}) });
    }
  }
  return threads;
}

interface UnitView {
  state: string;
  reads?: number;
  interval_ms?: number;
}

function unitView(unit: UnitControl): UnitView {
  return unit.status() as unknown as UnitView;
}

/** A log's unit in one of these states is not expected to have polled lately. */
const NOT_POLLING: ReadonlySet<string | undefined> = new Set(['starting', 'running', 'paused', 'stopped']);

/** A log's unit in one of these states is not polling, and says so instead of its last poll. */
const LOG_IDLE: ReadonlySet<string | undefined> = new Set(['paused', 'stopped', 'finished']);

function isDead(t: Thread, now: number): boolean {
  if (t.runner.state === 'failed') return true;
  if (t.unit && !t.log) return isUnitDead(t.unit, now);
  const v = t.log?.view;
  if (!v) return false;
  if (v.state === 'failed') return true;
  // A long catch-up poll is busy, and a paused log was told to wait: neither is dead.
  if (!v.last_poll || !v.interval || t.runner.state !== 'running' || NOT_POLLING.has(v.state)) return false;
  return now > Date.parse(v.last_poll) + DEAD_AFTER_INTERVALS * v.interval;
}

function isUnitDead(unit: UnitControl, now: number): boolean {
  const h = unit.health?.();
  if (!h) return false;
  if (h.state === 'failed') return true;
  // Delivering one large read is busy, not dead.
  if (h.state !== 'idle' || !h.intervalMs) return false;
  return now > h.progressAt + DEAD_AFTER_INTERVALS * h.intervalMs;
}

function threadLine(t: Thread): string {
  const active = t.runner.state === 'running' || t.runner.state === 'starting';
  if (!active) return `${t.name}: Idle (${t.runner.state})`;
  if (t.unit && !t.log) return unitLine(t.name, t.unit);
  if (LOG_IDLE.has(t.log?.view.state)) return `${t.name}: Idle (${t.log!.view.state})`;
  const v = t.log?.view;
  if (!v) {
    const last = t.runner.lastBatchAt ? ` last batch at ${hms(new Date(t.runner.lastBatchAt))}` : '';
    return `${t.name}: Running batches: ${t.runner.batches}${last}`;
  }
  // Errors are not told here: anyone may ask, and the status API on loopback has them.
  if (!v.last_poll) return `${t.name}: ${v.state === 'failed' ? 'Stopped' : 'Starting'}`;
  const upTo = v.checkpoint ? ymdhms(new Date(v.checkpoint)) : 'no checkpoint yet';
  const line = `At ${hms(new Date(v.last_poll))} up to ${upTo} count: ${v.polls ?? 0} interval: ${Math.round((v.interval ?? 0) / 1000)}`;
  return `${t.name}: ${v.state === 'failed' ? `Stopped ${line}` : line}`;
}

/** A runner unit's line: the last progress, its checkpoint as the unit shows it, reads and interval. */
function unitLine(name: string, unit: UnitControl): string {
  const v = unitView(unit);
  const h = unit.health?.();
  if (v.state === 'paused' || v.state === 'stopped' || v.state === 'failed' || v.state === 'finished')
    return `${name}: Idle (${v.state})`;
  if (!h) return `${name}: ${v.state}`;
  const upTo = unit.showCursor?.() ?? 'no checkpoint yet';
  const interval = (v.interval_ms ?? h.intervalMs ?? 0) / 1000;
  return `${name}: At ${hms(new Date(h.progressAt))} up to ${upTo} count: ${v.reads ?? 0} interval: ${interval}`;
}

/** The status text: the worst alert level and why, a blank line, then one line per thread. */
export function statusReport(
  runners: readonly SourceRunner[],
  now = Date.now(),
): { level: 0 | 5; text: string } {
  const threads = threadsOf(runners);
  const dead = threads.find((t) => isDead(t, now));
  const head = dead ? `Dead thread: ${dead.name}` : 'Ready';
  return { level: dead ? 5 : 0, text: `${head}\n\n${threads.map((t) => `${threadLine(t)}\n`).join('')}` };
}

/** The UDP status answer, as duo_watcher's ding: `P<level>` then the report. */
export function statusAnswer(runners: readonly SourceRunner[], now = Date.now()): string {
  const r = statusReport(runners, now);
  return `P${r.level}${r.text}`;
}
