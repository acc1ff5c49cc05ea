import type { Parser } from '../core/component.js';

/** Every parser by name, loaded when first used (see src/registry.ts for the other components). */
export const parsers: Record<string, () => Promise<{ create: (opts: Record<string, unknown>) => Parser }>> = {
  auto: () => import('./auto/index.js'),
  cloudwatch_logs: () => import('./cloudwatch_logs/index.js'),
  json_lines: () => import('./json_lines/index.js'),
  duo_auth: () => import('./duo_auth/index.js'),
  duo_admin: () => import('./duo_admin/index.js'),
  duo_telephony: () => import('./duo_telephony/index.js'),
  cloudtrail: () => import('./cloudtrail/index.js'),
  elb_classic: () => import('./elb_classic/index.js'),
  alb: () => import('./alb/index.js'),
  nlb: () => import('./nlb/index.js'),
  aws_logs: () => import('./aws_logs/index.js'),
  s3_notification: () => import('./s3_notification/index.js'),
};
