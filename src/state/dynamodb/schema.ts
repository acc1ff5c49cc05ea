import { z } from 'zod';
import { awsClientOptions } from '../../config/common.js';

export const dynamodbStateSchema = z
  .object({
    type: z.literal('dynamodb'),
    /** A table whose partition key is the string attribute `key_attribute` (default `id`). */
    table: z.string().min(3),
    key_attribute: z.string().default('id'),
    aws: awsClientOptions.prefault({}),
  })
  .strict();
export type DynamodbStateConfig = z.infer<typeof dynamodbStateSchema>;
