import { z } from 'zod';

/** CloudWatch Logs subscription message, as delivered to Kinesis, Firehose or Lambda (decoded). */
export const subscriptionMessageSchema = z.object({
  messageType: z.enum(['DATA_MESSAGE', 'CONTROL_MESSAGE']),
  owner: z.string(),
  logGroup: z.string(),
  logStream: z.string(),
  subscriptionFilters: z.array(z.string()),
  // Each log event is checked by hand in the parser's loop: validating hundreds of small
  // objects per record through zod cost more than the rest of the decoding.
  logEvents: z.array(z.unknown()),
  policyLevel: z.string().optional(),
});
export interface SubscriptionLogEvent {
  id: string;
  timestamp: number;
  message: string;
}
export type SubscriptionMessage = Omit<z.infer<typeof subscriptionMessageSchema>, 'logEvents'> & {
  logEvents: SubscriptionLogEvent[];
};

export const cloudwatchLogsParserSchema = z
  .object({
    /** Where JSON messages are parsed to; `''` merges them into the document root. */
    json_target: z.string().default('json'),
    /** Keep the raw text of a message that was parsed as JSON (in `event.original`). */
    keep_original: z.boolean().default(false),
    /**
     * Log groups that carry CloudTrail (a trail delivering to CloudWatch Logs), as `*` globs such
     * as `aws-cloudtrail-logs-*` or `CloudTrail/*`: their messages become `aws.cloudtrail` events.
     */
    cloudtrail_log_groups: z.array(z.string().min(1).max(512)).max(100).default([]),
  })
  .strict();

/** The event of CloudWatch Logs subscribed directly to a Lambda function: base64 of the gzip message. */
export const cloudWatchLogsEventSchema = z.object({ awslogs: z.object({ data: z.string() }) });
