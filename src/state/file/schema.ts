import { z } from 'zod';
import { fileMode } from '../../config/common.js';

export const fileStateSchema = z
  .object({
    type: z.literal('file'),
    /** Folder holding one JSON file per checkpoint key. */
    path: z.string().min(1).default('./var/state'),
    /** Permissions of checkpoint files (quoted octal); their folder gets the matching search bits. */
    mode: fileMode,
  })
  .strict();
export type FileStateConfig = z.infer<typeof fileStateSchema>;
