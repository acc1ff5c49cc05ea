import { z } from 'zod';
import { awsClientOptions, componentName } from '../../config/common.js';

export const snsAlertSchema = z
  .object({
    name: componentName,
    type: z.literal('sns'),
    topic_arn: z.string().regex(/^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w.-]+$/, 'write an SNS topic ARN'),
    /** Put before every subject, e.g. `[prod]`. */
    subject_prefix: z.string().max(40).default('[logferry]'),
    /** `body` appends the event JSON to the email text; `attribute` sends it as a message attribute too. */
    event_json: z.enum(['body', 'attribute', 'both']).default('body'),
    ...awsClientOptions.shape,
  })
  .strict();
export type SnsAlertConfig = z.infer<typeof snsAlertSchema>;
