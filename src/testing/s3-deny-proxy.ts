import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';

/**
 * A loopback proxy in front of an S3 emulator that answers GetObject for chosen keys the way S3
 * does when the caller lacks s3:GetObject (403 AccessDenied) or when S3 throttles (503 SlowDown,
 * with the XML error body S3 sends), and forwards
 * everything else untouched (optionally late, to play a slow read). s3rver has no bucket policies, so this is how a denied read is
 * driven through the real SDK error parsing.
 */
export async function startDenyProxy(
  target: string,
  fault: (bucket: string, key: string) => 'AccessDenied' | 'SlowDown' | undefined,
  /** Milliseconds to hold back the answer to a GetObject (a big object on a slow link). */
  delay: (bucket: string, key: string) => number = () => 0,
): Promise<{ endpoint: string; denials: number; stop(): Promise<void> }> {
  const upstream = new URL(target);
  const state = { denials: 0 };
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const [, bucket = '', ...rest] = path.split('/');
    const f = req.method === 'GET' && rest.length ? fault(bucket, rest.join('/')) : undefined;
    if (f) {
      state.denials++;
      const [status, message] =
        f === 'AccessDenied' ? [403, 'Access Denied'] : [503, 'Please reduce your request rate.'];
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${f}</Code><Message>${message}</Message><RequestId>7TXRPGZ2Y6EXAMPLE</RequestId><HostId>Z3ttPiBzZXJ2ZXIgaGFzIGEgcmVxdWVzdCBpZA==</HostId></Error>`;
      res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': '7TXRPGZ2Y6EXAMPLE' });
      res.end(body);
      return;
    }
    const wait = req.method === 'GET' && rest.length ? delay(bucket, rest.join('/')) : 0;
    setTimeout(() => forward(req, res), wait);
  });
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const fwd = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get denials() {
      return state.denials;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
