/**
 * The field convention for CloudTrail events, set by the cloudtrail parser: the record is kept
 * whole under `aws.cloudtrail` with AWS's own key names (`aws.cloudtrail.eventSource`,
 * `aws.cloudtrail.userIdentity.type`, `aws.cloudtrail.requestParameters.…`), plus ECS copies
 * (`event.provider`, `event.action`, `source.ip`, `user.name`, `cloud.*`). Sigma's CloudTrail
 * field names are the record's key paths, so they map by prefix.
 */

export const CLOUDTRAIL_DATASET = 'aws.cloudtrail';

/** A CloudTrail record path (as Sigma writes it) → our field path. */
export function cloudtrailField(path: string): string {
  return `aws.cloudtrail.${path}`;
}
