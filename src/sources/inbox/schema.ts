import { z } from 'zod';
import { duration, sourceBase } from '../../config/common.js';

export const inboxSourceSchema = z
  .object({
    ...sourceBase,
    type: z.literal('inbox'),
    /** Folder to watch. Files starting with '.' or ending in .tmp/.part are ignored until renamed. */
    path: z.string().min(1),
    poll_interval: duration.default(1000),
    /** A file must be unchanged this long before it is read, so half-copied files are not. */
    settle: duration.default(500),
    /** What to do with a file once every sink has its events (or it went to the dead-letter store). */
    after: z.enum(['move', 'delete']).default('move'),
    /** Where `after: move` puts finished files; default `<path>/.done`. */
    done_path: z.string().optional(),
  })
  .strict();
export type InboxSourceConfig = z.infer<typeof inboxSourceSchema>;
