import { randomBytes } from 'node:crypto';
import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { DeadLetterEntry, DeadLetterStore, StoredDeadLetter } from '../../core/component.js';
import { StateError } from '../../core/errors.js';
import { redactDeadLetter } from '../../core/redact.js';
import { awsClientConfig } from '../../platform/aws.js';
import type { S3DeadLetterConfig } from './schema.js';

/**
 * The S3 client module is read on the first dead letter, not when the store is built: most
 * invocations write none, and reading it costs a Lambda cold start about 100 ms.
 */
const s3Sdk = () => import('@aws-sdk/client-s3');

const ID = /^\d{4}-\d{2}-\d{2}\/\d{14}-[0-9a-f]{10}$/;

/**
 * Dead letters as S3 objects, one JSON object each, under a day folder. Ids sort by time (S3
 * lists keys in order), so a replay goes oldest first; a put is a single PutObject, so an entry
 * is either whole or absent.
 */
export class S3DeadLetterStore implements DeadLetterStore {
  private client?: Promise<S3Client>;

  /** `client`: a client, or how to make one when the first request needs it. */
  constructor(
    client: S3Client | (() => Promise<S3Client>),
    private readonly cfg: Pick<S3DeadLetterConfig, 'bucket' | 'prefix' | 'kms_key_id'>,
  ) {
    this.makeClient = typeof client === 'function' ? client : () => Promise.resolve(client);
  }

  private readonly makeClient: () => Promise<S3Client>;

  /** The client and the SDK's commands, loaded on first use. */
  private async s3() {
    this.client ??= this.makeClient();
    const [client, sdk] = await Promise.all([this.client, s3Sdk()]);
    return { client, sdk };
  }

  private key(id: string): string {
    return `${this.cfg.prefix}${id}.json`;
  }

  async put(entry: DeadLetterEntry): Promise<string> {
    const now = new Date();
    const id = `${now.toISOString().slice(0, 10)}/${now.getTime().toString().padStart(14, '0')}-${randomBytes(5).toString('hex')}`;
    const stored: StoredDeadLetter = { id, time: now.toISOString(), ...redactDeadLetter(entry) };
    try {
      const { client, sdk } = await this.s3();
      await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.cfg.bucket,
          Key: this.key(id),
          Body: `${JSON.stringify(stored)}\n`,
          ContentType: 'application/json',
          ...(this.cfg.kms_key_id
            ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: this.cfg.kms_key_id }
            : {}),
        }),
      );
    } catch (e) {
      throw new StateError(
        `dead letter could not be stored in s3://${this.cfg.bucket}/${this.cfg.prefix}: ${s3Why(e)}`,
        {
          cause: e,
          retryable: true,
        },
      );
    }
    return id;
  }

  async *list(): AsyncIterable<StoredDeadLetter> {
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        const { client, sdk } = await this.s3();
        page = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.cfg.bucket,
            Prefix: this.cfg.prefix,
            ContinuationToken: token,
          }),
        );
      } catch (e) {
        throw new StateError(
          `dead letters in s3://${this.cfg.bucket}/${this.cfg.prefix} cannot be listed: ${s3Why(e)}`,
          {
            cause: e,
            retryable: true,
          },
        );
      }
      for (const o of page.Contents ?? []) {
        const id = o.Key?.slice(this.cfg.prefix.length).replace(/\.json$/, '');
        if (!id || !ID.test(id)) continue;
        yield await this.read(id);
      }
      token = page.NextContinuationToken;
    } while (token);
  }

  private async read(id: string): Promise<StoredDeadLetter> {
    try {
      const { client, sdk } = await this.s3();
      const r = await client.send(new sdk.GetObjectCommand({ Bucket: this.cfg.bucket, Key: this.key(id) }));
      return JSON.parse(await r.Body!.transformToString('utf8')) as StoredDeadLetter;
    } catch (e) {
      throw new StateError(
        `dead letter s3://${this.cfg.bucket}/${this.key(id)} cannot be read: ${s3Why(e)}`,
        {
          cause: e,
        },
      );
    }
  }

  async remove(id: string): Promise<void> {
    if (!ID.test(id)) throw new StateError(`not a dead-letter id: ${id}`);
    const { client, sdk } = await this.s3();
    await client.send(new sdk.DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: this.key(id) }));
  }
}

function s3Why(e: unknown): string {
  if (e instanceof SyntaxError) return 'not JSON';
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return `${err.name ?? 'Error'}${err.$metadata?.httpStatusCode ? ` (HTTP ${err.$metadata.httpStatusCode})` : ''}`;
}

export function create(cfg: S3DeadLetterConfig): DeadLetterStore {
  return new S3DeadLetterStore(async () => new (await s3Sdk()).S3Client(awsClientConfig(cfg.aws)), cfg);
}
