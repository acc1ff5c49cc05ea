import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { StateStore } from '../../core/component.js';
import { StateError } from '../../core/errors.js';
import { awsClientConfig } from '../../platform/aws.js';
import type { S3StateConfig } from './schema.js';

const isMissing = (e: unknown) => {
  const name = (e as { name?: string }).name;
  return (
    name === 'NoSuchKey' ||
    name === 'NotFound' ||
    (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
  );
};
const isConflict = (e: unknown) => {
  const name = (e as { name?: string }).name;
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return (
    name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || status === 412 || status === 409
  );
};

/**
 * Checkpoints as S3 objects, written with a conditional put: `If-Match` the ETag this store last
 * read or wrote (or `If-None-Match: *` for a new key), so two collectors sharing a bucket cannot
 * silently overwrite each other's position. Emulators that ignore the conditions (s3rver does)
 * are still caught by a HEAD comparison before each write; that check is not atomic, real S3's is.
 */
export class S3StateStore implements StateStore {
  private readonly etags = new Map<string, string | null>();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}

  private key(k: string): string {
    return `${this.prefix}${k}.json`;
  }

  private where(k: string): string {
    return `s3://${this.bucket}/${this.key(k)}`;
  }

  async get<T>(key: string): Promise<T | undefined> {
    let text: string;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      text = (await out.Body?.transformToString('utf8')) ?? '';
      this.etags.set(key, out.ETag ?? null);
    } catch (e) {
      if (isMissing(e)) {
        this.etags.set(key, null);
        return undefined;
      }
      throw new StateError(`checkpoint ${this.where(key)} cannot be read (${(e as Error).name})`, {
        cause: e,
        retryable: true,
      });
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new StateError(
        `checkpoint ${this.where(key)} is corrupt (${(e as Error).message}); refusing to start. Fix or remove it to continue`,
        { cause: e },
      );
    }
  }

  async put<T>(key: string, value: T): Promise<void> {
    if (!this.etags.has(key)) await this.get(key).catch(() => undefined);
    const expected = this.etags.get(key) ?? null;
    let current: string | null = null;
    try {
      current =
        (await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }))).ETag ??
        null;
    } catch (e) {
      if (!isMissing(e))
        throw new StateError(`checkpoint ${this.where(key)}: ${(e as Error).name}`, {
          cause: e,
          retryable: true,
        });
    }
    if (current !== expected) throw this.conflict(key);
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          Body: `${JSON.stringify(value)}\n`,
          ContentType: 'application/json',
          ...(expected ? { IfMatch: expected } : { IfNoneMatch: '*' }),
        }),
      );
      this.etags.set(key, out.ETag ?? null);
    } catch (e) {
      if (isConflict(e)) throw this.conflict(key, e);
      throw new StateError(`checkpoint ${this.where(key)} cannot be written (${(e as Error).name})`, {
        cause: e,
        retryable: true,
      });
    }
  }

  private conflict(key: string, cause?: unknown): StateError {
    this.etags.delete(key);
    return new StateError(
      `checkpoint ${this.where(key)} was changed by someone else since it was read; is a second collector using it?`,
      { cause },
    );
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
    this.etags.set(key, null);
  }
}

export function create(cfg: S3StateConfig): StateStore {
  return new S3StateStore(new S3Client(awsClientConfig(cfg.aws)), cfg.bucket, cfg.prefix);
}
