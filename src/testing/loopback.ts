import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface Fault {
  status: number;
  body: string;
  headers?: Record<string, string>;
  /** Drop the connection instead of answering. */
  destroy?: boolean;
}

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A loopback HTTP server on port 0 with fault injection, the base of the strict fakes. */
export abstract class LoopbackFake {
  readonly received: Received[] = [];
  /** Every request, including the ones a fault answered. */
  requests = 0;
  private faults: Fault[] = [];
  private server: Server | undefined;
  port = 0;

  /** The next `times` requests get this answer. */
  failNext(times: number, fault: Fault): this {
    for (let i = 0; i < times; i++) this.faults.push(fault);
    return this;
  }

  protected abstract handle(req: Received): {
    status: number;
    body: string;
    headers?: Record<string, string>;
  };

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.onRequest(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    this.requests++;
    const fault = this.faults.shift();
    if (fault?.destroy) {
      req.socket.destroy();
      return;
    }
    const r: Received = {
      path: req.url ?? '/',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    const answer =
      fault ?? (req.method === 'POST' ? this.handle(r) : { status: 405, body: 'method_not_allowed' });
    if (!fault && answer.status < 300) this.received.push(r);
    res.writeHead(answer.status, { 'content-type': 'text/plain', ...(answer.headers ?? {}) });
    res.end(answer.body);
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
  }
}
