import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './ports.js';

const require = createRequire(import.meta.url);

/** s3rver in-process on a free port, with a client and the config block our components take. */
export interface S3Emulator {
  endpoint: string;
  client: S3Client;
  /** `aws:` options for a component config. */
  aws: {
    region: string;
    endpoint: string;
    force_path_style: true;
    credentials: { access_key_id: string; secret_access_key: string };
  };
  createBucket(name: string): Promise<void>;
  /** Keys under a prefix, sorted. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
  read(bucket: string, key: string): Promise<Buffer>;
  stop(): Promise<void>;
}

export async function startS3(): Promise<S3Emulator> {
  const dir = await mkdtemp(join(tmpdir(), 'logferry-s3rver-'));
  const S3rver = require('s3rver');
  const port = await freePort();
  const server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: dir });
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const region = 'us-east-1';
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return {
    endpoint,
    client,
    aws: {
      region,
      endpoint,
      force_path_style: true,
      credentials: { access_key_id: 'S3RVER', secret_access_key: 'S3RVER' },
    },
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async keys(bucket, prefix) {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const r = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of r.Contents ?? []) if (o.Key) out.push(o.Key);
        token = r.NextContinuationToken;
      } while (token);
      return out.sort();
    },
    async read(bucket, key) {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    },
    async stop() {
      client.destroy();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
