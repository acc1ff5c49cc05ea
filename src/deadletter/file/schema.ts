import { z } from 'zod';

export const fileDeadLetterSchema = z
  .object({
    type: z.literal('file'),
    /** Folder of dead letters: one JSON file each, grouped by day. */
    path: z.string().min(1).default('./var/dead-letter'),
  })
  .strict();
export type FileDeadLetterConfig = z.infer<typeof fileDeadLetterSchema>;
