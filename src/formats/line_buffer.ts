/**
 * Lines of text encoded straight into one growing UTF-8 buffer that is kept for the next write.
 *
 * Building a write as one string and handing it to `Buffer.from` (or to a stream, which does the
 * same) cost more than making the documents: each write of ~1 MB got a fresh ArrayBuffer, and on
 * this machine the pages of a fresh buffer fault in one by one (the decode CLI spent a third of
 * its CPU there, much of it system time). Encoding each line into memory already touched costs
 * ~0.05 µs a line; the big `Buffer.from` of the joined text cost 1.7–4 µs a line.
 */
export class LineBuffer {
  private buf: Buffer;
  size = 0;

  /**
   * Starts in `reuse` (bytes of an earlier LineBuffer, given back) or a new buffer. Every buffer
   * it makes is at least 64 KiB, so its ArrayBuffer is its own, never Buffer's shared pool: it can
   * be transferred to another thread.
   */
  constructor(reuse?: Buffer) {
    this.buf = reuse ?? Buffer.allocUnsafe(1 << 16);
  }

  /** Appends `text` as UTF-8; `newline` ends the line. */
  add(text: string, newline = true): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    this.reserve(text.length * 3 + 1);
    this.size += this.buf.write(text, this.size);
    if (newline) this.buf[this.size++] = 0x0a;
  }

  /** Appends bytes as they are (a response body read chunk by chunk). */
  addBytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.size);
    this.size += bytes.length;
  }

  /** Room for `bytes` more, growing by at least double so appends stay linear. */
  private reserve(bytes: number): void {
    const need = this.size + bytes;
    if (need <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2, 1 << 16));
    this.buf.copy(bigger, 0, 0, this.size);
    this.buf = bigger;
  }

  /** The bytes added since the last reset: a view, valid until the buffer is reset or grows. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.size);
  }

  get capacity(): number {
    return this.buf.length;
  }
}

/**
 * LineBuffers kept for the next writes: up to `keep` of them, as many as writes that overlap
 * (sources share a sink; a reader asks for the next page while it reads this one). One that grew
 * past `keepBytes` is let go, so an odd huge write does not pin memory.
 */
export class LineBufferPool {
  private readonly spares: LineBuffer[] = [];

  constructor(
    private readonly keepBytes = 16 * 1024 * 1024,
    private readonly keep = 1,
  ) {}

  take(): LineBuffer {
    const b = this.spares.pop() ?? new LineBuffer();
    b.size = 0;
    return b;
  }

  give(b: LineBuffer): void {
    if (b.capacity <= this.keepBytes && this.spares.length < this.keep) this.spares.push(b);
  }
}
