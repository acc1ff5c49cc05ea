/**
 * Fields each dataset's parser produces, so a rule that tests a field that never exists (a typo,
 * a field from another dataset) is reported when it loads instead of silently never matching.
 * Datasets not listed here are not checked. A test in known-fields.test.ts keeps these lists in
 * line with what the parsers really emit for their fixtures.
 */

const COMMON = [
  '@timestamp',
  'message',
  'tags',
  'event.id',
  'event.dataset',
  'event.kind',
  'event.category',
  'event.type',
  'event.action',
  'event.outcome',
  'event.reason',
  'event.provider',
  'event.original',
  'event.duration',
  'source.ip',
  'source.port',
  'source.geo.city_name',
  'source.geo.region_name',
  'source.geo.country_name',
  'source.geo.country_iso_code',
  'user.name',
  'user.id',
  'user.email',
  'related.user',
  'related.ip',
  'cloud.provider',
  'cloud.region',
  'cloud.account.id',
];

interface Known {
  exact: Set<string>;
  /** Paths below these are free-form (service-defined keys). */
  open: string[];
}

const ct = (keys: string[]) => keys.map((k) => `aws.cloudtrail.${k}`);

const ELB = [
  ...COMMON,
  'url.original',
  'url.domain',
  'http.request.method',
  'http.request.bytes',
  'http.response.bytes',
  'http.response.status_code',
  'http.version',
  'user_agent.original',
  'tls.cipher',
  'tls.version',
  'tls.version_protocol',
  'source.address',
  'destination.ip',
  'destination.port',
  'destination.address',
  ...[
    'type',
    'protocol',
    'name',
    'request_processing_time',
    'backend_processing_time',
    'target_processing_time',
    'response_processing_time',
    'elb_status_code',
    'backend_status_code',
    'target_status_code',
    'ssl_cipher',
    'ssl_protocol',
  ].map((k) => `aws.elb.${k}`),
];

const ALB = [
  ...ELB,
  ...[
    'target_group_arn',
    'trace_id',
    'chosen_cert_arn',
    'matched_rule_priority',
    'request_creation_time',
    'actions_executed',
    'redirect_url',
    'error_reason',
    'target_port_list',
    'target_status_code_list',
    'classification',
    'classification_reason',
    'conn_trace_id',
    'transformed_host',
    'transformed_uri',
    'request_transform_status',
  ].map((k) => `aws.elb.${k}`),
];

const KNOWN: Record<string, Known> = {
  'aws.cloudtrail': {
    exact: new Set([
      ...COMMON,
      'user_agent.original',
      'source.address',
      'source.domain',
      'error.code',
      'error.message',
      ...ct([
        'eventVersion',
        'eventTime',
        'eventSource',
        'eventName',
        'eventType',
        'eventID',
        'eventCategory',
        'awsRegion',
        'sourceIPAddress',
        'userAgent',
        'errorCode',
        'errorMessage',
        'requestID',
        'sharedEventID',
        'recipientAccountId',
        'readOnly',
        'managementEvent',
        'apiVersion',
        'vpcEndpointId',
        'vpcEndpointAccountId',
        'sessionCredentialFromConsole',
      ]),
    ]),
    open: ct([
      'userIdentity',
      'requestParameters',
      'responseElements',
      'additionalEventData',
      'serviceEventDetails',
      'resources',
      'tlsDetails',
      'edgeDeviceDetails',
      'insightDetails',
    ]),
  },
  'aws.elb': { exact: new Set(ELB), open: ['aws.elb.extra_fields'] },
  'aws.alb': { exact: new Set(ALB), open: ['aws.elb.extra_fields'] },
  'duo.authentication': {
    exact: new Set([
      ...COMMON,
      'user_agent.name',
      'user_agent.version',
      'user_agent.os.name',
      'user_agent.os.version',
      'host.hostname',
      'service.name',
      'service.id',
    ]),
    open: ['duo'],
  },
  'duo.administrator': {
    exact: new Set([...COMMON, 'user.target.name']),
    open: ['duo'],
  },
  'duo.telephony': {
    exact: new Set([...COMMON]),
    open: ['duo'],
  },
  alerts: { exact: new Set(), open: [''] },
};

/** True when the field can occur in the dataset (or the dataset is not one we know). */
export function isKnownField(dataset: string, field: string): boolean {
  const k = KNOWN[dataset];
  if (!k) return true;
  if (k.exact.has(field)) return true;
  return k.open.some((p) => p === '' || field === p || field.startsWith(`${p}.`));
}

export function knownDatasets(): string[] {
  return Object.keys(KNOWN);
}

/** For tests: teach the list a field a parser really emits. */
export function knownFieldsOf(dataset: string): Known | undefined {
  return KNOWN[dataset];
}
