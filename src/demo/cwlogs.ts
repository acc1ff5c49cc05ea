import { gzipSync } from 'node:zlib';
import type { SubscriptionMessage } from '../parsers/cloudwatch_logs/schema.js';

/** Deterministic pseudo-random numbers, so generated fixtures are the same on every run. */
export function rng(seed = 42): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACCOUNT = '123456789012';

function ip(r: () => number, prefix = '10.0'): string {
  return `${prefix}.${Math.floor(r() * 256)}.${Math.floor(r() * 254) + 1}`;
}

/** A VPC flow log line (version 2 default format), as CloudWatch Logs carries it. */
export function vpcFlowLine(r: () => number, t: number): string {
  const start = Math.floor(t / 1000);
  const proto = r() < 0.8 ? 6 : 17;
  const action = r() < 0.9 ? 'ACCEPT' : 'REJECT';
  return `2 ${ACCOUNT} eni-0${Math.floor(r() * 1e16)
    .toString(16)
    .padStart(
      16,
      '0',
    )} ${ip(r)} ${ip(r, '172.31')} ${Math.floor(r() * 60000) + 1024} ${[443, 22, 80, 3306, 53][Math.floor(r() * 5)]} ${proto} ${Math.floor(r() * 40) + 1} ${Math.floor(r() * 90000) + 40} ${start} ${start + 60} ${action} OK`;
}

/** A structured application log line, the kind Lambda functions and containers write. */
export function appJsonLine(r: () => number, t: number): string {
  const level = r() < 0.85 ? 'INFO' : r() < 0.7 ? 'WARN' : 'ERROR';
  return JSON.stringify({
    timestamp: new Date(t).toISOString(),
    level,
    service: ['checkout', 'auth', 'search'][Math.floor(r() * 3)],
    requestId: `${Math.floor(r() * 1e12).toString(16)}-${Math.floor(r() * 1e12).toString(16)}`,
    message: level === 'ERROR' ? 'upstream timed out after 3000 ms' : 'request completed',
    durationMs: Math.round(r() * 2500 * 100) / 100,
    http: {
      method: r() < 0.7 ? 'GET' : 'POST',
      path: `/api/v1/items/${Math.floor(r() * 10000)}`,
      status: r() < 0.95 ? 200 : 503,
    },
  });
}

let idCounter = 0n;

/** A DATA_MESSAGE as CloudWatch Logs delivers it, with `count` events from `start`. */
export function subscriptionMessage(opts: {
  kind: 'vpc' | 'app';
  count: number;
  start: number;
  r?: () => number;
}): SubscriptionMessage {
  const r = opts.r ?? rng();
  const logEvents = [];
  for (let i = 0; i < opts.count; i++) {
    const t = opts.start + i * 7;
    // CloudWatch event ids are 56-digit decimal strings derived from time and ingestion order.
    idCounter++;
    const id = `${BigInt(t) * 10n ** 40n + idCounter}`.padStart(56, '3');
    logEvents.push({
      id,
      timestamp: t,
      message: opts.kind === 'vpc' ? vpcFlowLine(r, t) : appJsonLine(r, t),
    });
  }
  return {
    messageType: 'DATA_MESSAGE',
    owner: ACCOUNT,
    logGroup: opts.kind === 'vpc' ? '/vpc/flow-logs' : '/aws/lambda/checkout-api',
    logStream:
      opts.kind === 'vpc'
        ? 'eni-0a1b2c3d4e5f67890-all'
        : '2026/11/25/[$LATEST]6f1e2d3c4b5a69788796a5b4c3d2e1f0',
    subscriptionFilters: ['central-logging'],
    logEvents,
  };
}

export const controlMessage = (): SubscriptionMessage => ({
  messageType: 'CONTROL_MESSAGE',
  owner: 'CloudwatchLogs',
  logGroup: '',
  logStream: '',
  subscriptionFilters: [],
  logEvents: [
    {
      id: '',
      timestamp: Date.now(),
      message: 'CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.',
    },
  ],
});

export function gzipJson(value: unknown): Buffer {
  return gzipSync(Buffer.from(JSON.stringify(value)));
}

/** A Kinesis Lambda event carrying the given record payloads, shaped as AWS documents it. */
export function kinesisLambdaEvent(
  payloads: Buffer[],
  opts: { stream?: string; shard?: string; startSeq?: bigint } = {},
) {
  const stream = opts.stream ?? 'central-logging';
  const shard = opts.shard ?? 'shardId-000000000000';
  const start = opts.startSeq ?? 49590338271490256608559692538361571095921575989136588898n;
  return {
    Records: payloads.map((p, i) => {
      const seq = (start + BigInt(i)).toString();
      return {
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: `pk-${i}`,
          sequenceNumber: seq,
          data: p.toString('base64'),
          approximateArrivalTimestamp: 1545084650.987,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `${shard}:${seq}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn:aws:iam::123456789012:role/lambda-role',
        awsRegion: 'us-east-2',
        eventSourceARN: `arn:aws:kinesis:us-east-2:123456789012:stream/${stream}`,
      };
    }),
  };
}
