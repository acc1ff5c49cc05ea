import { z } from 'zod';
import { componentName } from '../../config/common.js';

export const sinkAlertSchema = z
  .object({
    name: componentName,
    type: z.literal('sink'),
    /** Name of a configured sink: alerts are written to it as events of dataset `alerts`. */
    sink: componentName,
  })
  .strict();
export type SinkAlertConfig = z.infer<typeof sinkAlertSchema>;
