import { z } from 'zod';
import { fileMode } from '../../config/common.js';

export const fileDeadLetterSchema = z
  .object({
    type: z.literal('file'),
    /** Folder of dead letters: one JSON file each, grouped by day. */
    path: z.string().min(1).default('./var/dead-letter'),
    /** Permissions of dead-letter files (quoted octal); their folders get the matching search bits. */
    mode: fileMode,
  })
  .strict();
export type FileDeadLetterConfig = z.infer<typeof fileDeadLetterSchema>;
