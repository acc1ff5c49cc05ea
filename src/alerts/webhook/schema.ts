import { z } from 'zod';
import { componentName, duration } from '../../config/common.js';
import { SecretRefSchema } from '../../config/secrets.js';

export const webhookAlertSchema = z
  .object({
    name: componentName,
    type: z.literal('webhook'),
    /** The URL is a secret (it often carries a token): redacted in status output and errors. */
    webhook_url: SecretRefSchema,
    /** Key for the HMAC-SHA256 signature header; without it requests are unsigned. */
    signing_secret: SecretRefSchema.optional(),
    timeout: duration.default(10_000),
  })
  .strict();
export type WebhookAlertConfig = z.infer<typeof webhookAlertSchema>;
