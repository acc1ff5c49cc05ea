import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { StateError } from '../../core/errors.js';
import { awsClientConfig } from '../../platform/aws.js';
import type { DuoCheckpoint } from './checkpoint.js';
import type { ResumeFrom } from './resume-schema.js';
import type { DuoLogName } from './schema.js';

export { type ResumeFrom, resumeFromSchema } from './resume-schema.js';

/** duo_watcher's thread (and folder) name per log. */
export const DUO_WATCHER_FOLDERS: Record<DuoLogName, string> = {
  authentication: 'auth',
  administrator: 'admin',
  telephony: 'phone',
};

/**
 * duo_watcher's per-log state: the Unix second of the last event it wrote, and how many events of
 * that second (in Duo's order) it wrote. `{timestamp: 0, count: 0}` is its "never ran".
 */
const duoWatcherState = z
  .object({ timestamp: z.number().int().nonnegative(), count: z.number().int().nonnegative() })
  .strict();

/** The Go function's state: per log, the Unix second to ask from next (its last event's second + 1). */
const duopullState = z
  .object({
    administrator: z.number().int().nonnegative(),
    authentication: z.number().int().nonnegative(),
    telephony: z.number().int().nonnegative(),
  })
  .strict();

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new StateError(`${what} is not JSON; fix it or remove resume_from to continue`);
  }
}

function shapeError(what: string, expected: string, issue: z.ZodError): StateError {
  const first = issue.issues[0];
  const at = first?.path.length ? ` at ${first.path.join('.')}` : '';
  return new StateError(
    `${what} is not ${expected} (${first?.message ?? 'invalid'}${at}); refusing to start`,
  );
}

export async function readDuoWatcherCheckpoint(
  dir: string,
  log: DuoLogName,
): Promise<DuoCheckpoint | undefined> {
  const file = join(dir, DUO_WATCHER_FOLDERS[log], 'state');
  const what = `duo_watcher state ${file}`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    // A log duo_watcher never collected has no state file: it starts like any new log.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateError(`${what} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: e,
    });
  }
  const parsed = duoWatcherState.safeParse(parseJson(text, what));
  if (!parsed.success) throw shapeError(what, '{"timestamp": <Unix seconds>, "count": <n>}', parsed.error);
  const { timestamp, count } = parsed.data;
  if (timestamp === 0) return undefined;
  // Re-read its last second and pass over the events of it that duo_watcher already wrote.
  return { v: 1, ts: timestamp * 1000, seen: [], skip: { before: (timestamp + 1) * 1000, count } };
}

export async function readDuopullCheckpoints(
  cfg: Extract<ResumeFrom, { duopull_s3: unknown }>['duopull_s3'],
): Promise<Record<DuoLogName, DuoCheckpoint> | undefined> {
  const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client(awsClientConfig(cfg.aws));
  const what = `duopull state s3://${cfg.bucket}/${cfg.key}`;
  let text: string;
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: cfg.key }));
    text = (await out.Body?.transformToString('utf8')) ?? '';
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === 'NoSuchKey') return undefined;
    throw new StateError(`${what} cannot be read (${name ?? 'error'})`, { cause: e });
  } finally {
    client.destroy();
  }
  const parsed = duopullState.safeParse(parseJson(text, what));
  if (!parsed.success)
    throw shapeError(
      what,
      '{"administrator": <Unix seconds>, "authentication": <Unix seconds>, "telephony": <Unix seconds>}',
      parsed.error,
    );
  // Its mintime is already one past the last second it sent: start there, nothing to skip.
  const at = (s: number): DuoCheckpoint => ({ v: 1, ts: s * 1000, seen: [] });
  return {
    administrator: at(parsed.data.administrator),
    authentication: at(parsed.data.authentication),
    telephony: at(parsed.data.telephony),
  };
}

/** The imported start of each log, read once. */
export class ResumePoint {
  private duopull: Promise<Record<DuoLogName, DuoCheckpoint> | undefined> | undefined;

  constructor(private readonly from: ResumeFrom | undefined) {}

  async checkpoint(log: DuoLogName): Promise<DuoCheckpoint | undefined> {
    if (!this.from) return undefined;
    if ('duo_watcher' in this.from) return readDuoWatcherCheckpoint(this.from.duo_watcher, log);
    // A failed read is tried again at the next poll, not remembered.
    this.duopull ??= readDuopullCheckpoints(this.from.duopull_s3).catch((e: unknown) => {
      this.duopull = undefined;
      throw e;
    });
    return (await this.duopull)?.[log];
  }
}
