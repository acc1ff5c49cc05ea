import { z } from 'zod';

export const fileStateSchema = z
  .object({
    type: z.literal('file'),
    /** Folder holding one JSON file per checkpoint key. */
    path: z.string().min(1).default('./var/state'),
  })
  .strict();
export type FileStateConfig = z.infer<typeof fileStateSchema>;
