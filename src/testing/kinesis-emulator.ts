import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { freePort } from './ports.js';

export interface KinesisEmulator {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  client: KinesisClient;
  stop(): Promise<void>;
}

/**
 * Starts kinesis-mock (npm `kinesis-local`) as a child process on a free port and waits until it
 * answers. The SDK client gets an HTTP/1.1 handler: the emulator cannot speak HTTP/2.
 */
export async function startKinesisEmulator(): Promise<KinesisEmulator> {
  const require = createRequire(import.meta.url);
  const cwd = dirname(require.resolve('kinesis-local/package.json'));
  const plain = await freePort();
  const tls = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['main.js'], {
    cwd,
    env: {
      ...process.env,
      KINESIS_MOCK_PLAIN_PORT: String(plain),
      KINESIS_MOCK_TLS_PORT: String(tls),
      CREATE_STREAM_DURATION: '0ms',
      SPLIT_SHARD_DURATION: '0ms',
      MERGE_SHARDS_DURATION: '0ms',
      UPDATE_SHARD_COUNT_DURATION: '0ms',
      ROOT_LOG_LEVEL: 'ERROR',
      LOG_LEVEL: 'ERROR',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${plain}`;
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };
  const client = new KinesisClient({ endpoint, region, credentials, requestHandler: new NodeHttpHandler() });
  const stop = async () => {
    client.destroy();
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  };
  const started = Date.now();
  for (;;) {
    try {
      await client.send(new ListStreamsCommand({}));
      return { endpoint, region, credentials, client, stop };
    } catch (e) {
      if (child.exitCode !== null || Date.now() - started > 30_000) {
        await stop();
        throw new Error(`kinesis emulator did not start: ${(e as Error).message}; ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
