import { z } from 'zod';

/** CloudWatch Logs subscription message, as delivered to Kinesis, Firehose or Lambda (decoded). */
export const subscriptionMessageSchema = z.object({
  messageType: z.enum(['DATA_MESSAGE', 'CONTROL_MESSAGE']),
  owner: z.string(),
  logGroup: z.string(),
  logStream: z.string(),
  subscriptionFilters: z.array(z.string()),
  logEvents: z.array(
    z.object({
      id: z.string(),
      timestamp: z.number(),
      message: z.string(),
    }),
  ),
  policyLevel: z.string().optional(),
});
export type SubscriptionMessage = z.infer<typeof subscriptionMessageSchema>;

export const cloudwatchLogsParserSchema = z
  .object({
    /** Where JSON messages are parsed to; `''` merges them into the document root. */
    json_target: z.string().default('json'),
  })
  .strict();
