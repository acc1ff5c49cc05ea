// Apart from import.ts so that validating a config does not load the AWS SDK that reading the old state needs.
import { z } from 'zod';
import { awsClientOptions } from '../../config/common.js';

/**
 * Where to start a log that has no checkpoint of its own yet: where the collector logferry
 * replaces stopped. Read once per log, only until logferry has saved its own checkpoint.
 */
export const resumeFromSchema = z.union([
  /** duo_watcher's log folder: `<dir>/auth/state`, `<dir>/admin/state`, `<dir>/phone/state`. */
  z.object({ duo_watcher: z.string().min(1) }).strict(),
  /** The Go Duo function (duopull)'s S3 state object, `mintime` in its bucket. */
  z
    .object({
      duopull_s3: z
        .object({
          bucket: z.string().min(3),
          key: z.string().min(1).default('mintime'),
          aws: awsClientOptions.prefault({}),
        })
        .strict(),
    })
    .strict(),
]);
export type ResumeFrom = z.infer<typeof resumeFromSchema>;
