/** Where progress goes: process.stderr, or anything shaped like it (tests). */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  /** Least time between two redraws; the line changes faster than anyone can read it. */
  intervalMs?: number;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
}

/**
 * One status line for a long command (`backfill`, `replay`, `query` over many files), redrawn
 * in place on a terminal at most every `intervalMs`. In a pipe, a file or a dumb terminal it
 * writes nothing at all, so scripts and logs see only the command's real output.
 */
export class ProgressLine {
  private readonly stream: ProgressStream;
  private readonly enabled: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private shown = '';
  private latest = '';

  constructor(opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    const env = opts.env ?? process.env;
    this.enabled = this.stream.isTTY === true && env.TERM !== 'dumb' && env.LOGFERRY_PROGRESS !== '0';
    this.intervalMs = opts.intervalMs ?? 200;
    this.now = opts.now ?? Date.now;
  }

  /** Shows `line` in place of the previous one; a call within the interval only remembers it. */
  update(line: string): void {
    if (!this.enabled) return;
    this.latest = line;
    const t = this.now();
    if (t - this.lastDraw < this.intervalMs) return;
    this.lastDraw = t;
    this.draw(line);
  }

  /** Writes whole lines (a report) to `out` without tearing the progress line, which is drawn again below. */
  above(text: string, out: ProgressStream): void {
    if (!this.shown) {
      out.write(text);
      return;
    }
    this.clear();
    out.write(text);
    this.draw(this.latest);
  }

  /** Removes the line, so the command's closing summary starts on a clean line. */
  done(): void {
    if (this.shown) this.clear();
  }

  private draw(line: string): void {
    // A line wider than the terminal wraps, and \r then only returns to its last row.
    const width = (this.stream.columns ?? 80) - 1;
    const fitted = line.length > width ? `${line.slice(0, Math.max(0, width - 1))}…` : line;
    this.stream.write(`\r\x1b[K${fitted}`);
    this.shown = fitted;
  }

  private clear(): void {
    this.stream.write('\r\x1b[K');
    this.shown = '';
  }
}
