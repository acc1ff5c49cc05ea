import { z } from 'zod';

/** Options of the load-balancer parsers (alb, elb_classic, nlb), from a source's `parser_options`. */
export const lbParserSchema = z
  .object({
    /**
     * Also keep the copies under `aws.elb.*` of what the ECS fields already hold (status code,
     * TLS cipher and protocol, NLB bytes and server name) and, for ALB, the classic-ELB names of
     * its target fields. Off by default: they made documents larger and said nothing new.
     */
    aws_copies: z.boolean().default(false),
  })
  .strict();

export type LbParserOptions = z.infer<typeof lbParserSchema>;
