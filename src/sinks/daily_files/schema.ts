import { z } from 'zod';
import { fileMode, sinkBase } from '../../config/common.js';
import { DEFAULT_FILE_NAME, fileNameProblem } from './naming.js';

export const dailyFilesSinkSchema = z
  .object({
    ...sinkBase,
    type: z.literal('daily_files'),
    /** Root folder: one folder per dataset below it, one file per day in it. */
    path: z.string().min(1),
    /**
     * Day-file name inside the dataset's folder: `{dir}` the folder name, `%Y`/`%y` `%m` `%d`
     * the day (see `day_zone`), `%%` a percent sign. `%y%m%d` names files as duo_watcher did.
     */
    file_name: z
      .string()
      .default(DEFAULT_FILE_NAME)
      .superRefine((p, ctx) => {
        const problem = fileNameProblem(p);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    /** Folder (and file prefix) per dataset, e.g. `duo.authentication: auth`; default the dataset name. */
    directories: z
      .record(
        z.string(),
        z
          .string()
          .regex(
            /^[\w.-]+$/,
            'not a folder name — write letters, digits, dot, dash and underscore, like auth',
          )
          .refine((d) => d !== '.' && d !== '..', 'a folder name cannot be . or .. — write a name like auth'),
      )
      .default({}),
    /** Day files older than this many days, and not written to for as long, are deleted; 0 keeps everything. */
    retention_days: z.number().int().nonnegative().default(30),
    /** Which day an event belongs to: its own timestamp, or when logferry wrote it. */
    day_from: z.enum(['event', 'arrival']).default('event'),
    /** Days in UTC, or in the host's local time zone (as duo_watcher named its files). */
    day_zone: z.enum(['utc', 'local']).default('utc'),
    /** fsync after each write, so a checkpoint never runs ahead of the data on a power cut. */
    fsync: z.boolean().default(true),
    /** Permissions of day files (quoted octal); their folders get the matching search bits. */
    mode: fileMode,
    /**
     * On opening an existing day file, read at least this many bytes from its end (and on until
     * the ids of the last events a crash can replay are known, see core/uncommitted.ts) to learn
     * which event ids it already holds: a batch replayed after a crash then adds no duplicate line.
     * 0 turns the scan off.
     */
    dedup_scan_bytes: z
      .number()
      .int()
      .nonnegative()
      .default(32 * 1024 * 1024),
  })
  .strict();
export type DailyFilesSinkConfig = z.infer<typeof dailyFilesSinkSchema>;
