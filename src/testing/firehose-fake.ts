/**
 * A strict loopback Amazon Data Firehose (JSON 1.1 protocol) for PutRecordBatch and PutRecord,
 * driven by @aws-sdk/client-firehose. It checks what the service checks: the X-Amz-Target and
 * content type, a SigV4 Authorization for service `firehose`, at most 500 records and 4 MiB per
 * call, 1,000 KiB per record, an existing stream; it answers per record and can fail records
 * with ServiceUnavailableException on a schedule, as the service does under load.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export const FIREHOSE_LIMITS = { records: 500, callBytes: 4 * 1024 * 1024, recordBytes: 1000 * 1024 };

export class FirehoseFake {
  /** Records stored per delivery stream, in arrival order. */
  readonly streams = new Map<string, Buffer[]>();
  readonly calls: { target: string; status: number; records: number }[] = [];
  private server: Server | undefined;
  private portNo = 0;
  private failure: { ratio: number; acc: number; remaining: number } | undefined;
  private throttleCalls = 0;
  private delayMs = 0;

  get url(): string {
    return `http://127.0.0.1:${this.portNo}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.portNo = (this.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    s?.closeAllConnections();
    await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }

  createStream(name: string): void {
    this.streams.set(name, []);
  }

  /** The next `records` records (spread as `ratio` of each call) fail with ServiceUnavailableException. */
  failRecords(records: number, ratio = 1): void {
    this.failure = { ratio, acc: 0, remaining: records };
  }

  /** The next `calls` calls are refused whole with ServiceUnavailableException (HTTP 503). */
  throttle(calls: number): void {
    this.throttleCalls = calls;
  }

  slowDown(ms: number): void {
    this.delayMs = ms;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const call = { target, status: 0, records: 0 };
    this.calls.push(call);
    const send = (status: number, body: unknown) => {
      call.status = status;
      const text = JSON.stringify(body);
      setTimeout(() => {
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-requestid': `fake-${this.calls.length}`,
        });
        res.end(text);
      }, this.delayMs);
    };
    const error = (status: number, type: string, message: string) => send(status, { __type: type, message });

    if (req.method !== 'POST') return error(400, 'UnknownOperationException', '');
    if (req.headers['content-type'] !== 'application/x-amz-json-1.1')
      return error(
        400,
        'SerializationException',
        `content type ${req.headers['content-type']} is not supported`,
      );
    if (
      !/^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[^/]+\/firehose\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/.test(
        String(req.headers.authorization ?? ''),
      )
    )
      return error(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    let body: { DeliveryStreamName?: string; Records?: { Data?: string }[]; Record?: { Data?: string } };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return error(400, 'SerializationException', 'Start of structure or map found where not expected.');
    }
    const op = target.replace(/^Firehose_20150804\./, '');
    if (!target.startsWith('Firehose_20150804.') || (op !== 'PutRecordBatch' && op !== 'PutRecord'))
      return error(400, 'UnknownOperationException', `${target} is not supported by the fake`);
    const name = body.DeliveryStreamName ?? '';
    const stream = this.streams.get(name);
    if (!stream)
      return error(
        400,
        'ResourceNotFoundException',
        `Firehose ${name} under account 123456789012 not found.`,
      );
    if (this.throttleCalls > 0) {
      this.throttleCalls--;
      return error(503, 'ServiceUnavailableException', 'Slow down.');
    }
    const records = op === 'PutRecord' ? [body.Record ?? {}] : (body.Records ?? []);
    call.records = records.length;
    if (records.length === 0 || records.length > FIREHOSE_LIMITS.records)
      return error(
        400,
        'ValidationException',
        `1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length less than or equal to ${FIREHOSE_LIMITS.records} and greater than or equal to 1`,
      );
    const data = records.map((r) => Buffer.from(r.Data ?? '', 'base64'));
    const total = data.reduce((n, d) => n + d.length, 0);
    const big = data.findIndex((d) => d.length > FIREHOSE_LIMITS.recordBytes);
    if (big >= 0)
      return error(
        400,
        'ValidationException',
        `1 validation error detected: Value at 'records.${big + 1}.member.data' failed to satisfy constraint: Member must have length less than or equal to ${FIREHOSE_LIMITS.recordBytes}`,
      );
    if (total > FIREHOSE_LIMITS.callBytes)
      return error(
        400,
        'InvalidArgumentException',
        `Records size exceeds ${FIREHOSE_LIMITS.callBytes} bytes limit`,
      );

    let failed = 0;
    const responses = data.map((d, i) => {
      const f = this.failure;
      if (f && f.remaining > 0) {
        // Rounded so that 0.3 × 100 records is exactly 30 failures.
        f.acc = Math.round((f.acc + f.ratio) * 1e9) / 1e9;
        if (f.acc >= 1) {
          f.acc -= 1;
          f.remaining--;
          failed++;
          return { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' };
        }
      }
      stream.push(d);
      return { RecordId: `${name}-${stream.length}-${i}` };
    });
    if (op === 'PutRecord') {
      if (failed) return error(503, 'ServiceUnavailableException', 'Slow down.');
      return send(200, { RecordId: (responses[0] as { RecordId: string }).RecordId, Encrypted: false });
    }
    return send(200, { FailedPutCount: failed, Encrypted: false, RequestResponses: responses });
  }
}

/** An SDK client for the fake: fixed example credentials, no SDK retries (the core retries). */
export function fakeFirehoseClient(url: string): FirehoseClient {
  return new FirehoseClient({
    endpoint: url,
    region: 'eu-west-1',
    credentials: {
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
}
