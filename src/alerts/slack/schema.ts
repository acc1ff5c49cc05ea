import { z } from 'zod';
import { componentName, duration } from '../../config/common.js';
import { SecretRefSchema } from '../../config/secrets.js';

export const slackAlertSchema = z
  .object({
    name: componentName,
    type: z.literal('slack'),
    /** The incoming-webhook URL: a secret (env, file, Secrets Manager or SSM). */
    webhook_url: SecretRefSchema,
    timeout: duration.default(10_000),
  })
  .strict();
export type SlackAlertConfig = z.infer<typeof slackAlertSchema>;
