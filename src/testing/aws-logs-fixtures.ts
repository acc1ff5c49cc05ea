import { rng } from '../demo/cwlogs.js';

/**
 * Realistic CloudTrail records and ALB lines, deterministic from a seed, shaped like the AWS
 * documentation examples (used by integration tests and the benchmarks).
 */
export const ACCOUNT = '123456789012';

const CT_CALLS: [string, string, boolean][] = [
  ['ec2.amazonaws.com', 'StartInstances', false],
  ['ec2.amazonaws.com', 'DescribeInstances', true],
  ['iam.amazonaws.com', 'CreateUser', false],
  ['s3.amazonaws.com', 'GetObject', true],
  ['sts.amazonaws.com', 'AssumeRole', true],
  ['cloudtrail.amazonaws.com', 'UpdateTrail', false],
  ['kms.amazonaws.com', 'Decrypt', true],
  ['signin.amazonaws.com', 'ConsoleLogin', false],
];
const USERS = ['Mateo', 'Nikki', 'Arnav', 'Mary', 'Paulo', 'Saanvi', 'Terry'];
const hex = (r: () => number, n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
};
const uuid = (r: () => number) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-${hex(r, 4)}-${hex(r, 12)}`;

export function cloudTrailRecord(r: () => number, t: number): Record<string, unknown> {
  const [source, name, readOnly] = CT_CALLS[Math.floor(r() * CT_CALLS.length)]!;
  const user = USERS[Math.floor(r() * USERS.length)]!;
  const failed = r() < 0.05;
  const rec: Record<string, unknown> = {
    eventVersion: '1.08',
    userIdentity: {
      type: 'IAMUser',
      principalId: `AIDA${hex(r, 16).toUpperCase()}`,
      arn: `arn:aws:iam::${ACCOUNT}:user/${user}`,
      accountId: ACCOUNT,
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      userName: user,
      sessionContext: {
        sessionIssuer: {},
        webIdFederationData: {},
        attributes: {
          creationDate: new Date(t - 3_600_000).toISOString().slice(0, 19) + 'Z',
          mfaAuthenticated: 'false',
        },
      },
    },
    eventTime: new Date(t).toISOString().slice(0, 19) + 'Z',
    eventSource: source,
    eventName: name,
    awsRegion: 'us-east-1',
    sourceIPAddress: `192.0.2.${Math.floor(r() * 254) + 1}`,
    userAgent: `aws-cli/2.13.5 Python/3.11.4 Linux/4.14.255-314-253.539.amzn2.x86_64 exec-env/CloudShell exe/x86_64.amzn.2 prompt/off command/${source.split('.')[0]}.${name.toLowerCase()}`,
    requestParameters: {
      instancesSet: { items: [{ instanceId: `i-${hex(r, 17)}` }, { instanceId: `i-${hex(r, 17)}` }] },
      filterSet: {},
      includeAllInstances: r() < 0.5,
    },
    responseElements: failed
      ? null
      : {
          requestId: uuid(r),
          instancesSet: {
            items: [
              {
                instanceId: `i-${hex(r, 17)}`,
                currentState: { code: 0, name: 'pending' },
                previousState: { code: 80, name: 'stopped' },
              },
            ],
          },
        },
    requestID: uuid(r),
    eventID: uuid(r),
    readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
    tlsDetails: {
      tlsVersion: 'TLSv1.2',
      cipherSuite: 'ECDHE-RSA-AES128-GCM-SHA256',
      clientProvidedHostHeader: `${source.split('.')[0]}.us-east-1.amazonaws.com`,
    },
    sessionCredentialFromConsole: 'true',
  };
  if (failed) {
    rec.errorCode = 'AccessDenied';
    rec.errorMessage = `User: arn:aws:iam::${ACCOUNT}:user/${user} is not authorized to perform: ${name}`;
  }
  return rec;
}

/** A CloudTrail log file's text with `count` records (compact JSON, as CloudTrail writes it). */
export function cloudTrailFile(count: number, seed = 1, start = Date.UTC(2026, 10, 25, 10)): string {
  const r = rng(seed);
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(JSON.stringify(cloudTrailRecord(r, start + i * 997)));
  return `{"Records":[${parts.join(',')}]}`;
}

const PATHS = ['/', '/index.html', '/api/orders?page=2', '/login', '/static/app.js', '/api/users/42'];
const AGENTS = [
  'curl/7.46.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
];

/** One ALB access log line with every field AWS documents today (conn_trace_id, transforms). */
export function albLine(r: () => number, t: number): string {
  const https = r() < 0.7;
  const status = r() < 0.9 ? 200 : r() < 0.5 ? 404 : 502;
  const path = PATHS[Math.floor(r() * PATHS.length)]!;
  const client = `203.0.113.${Math.floor(r() * 254) + 1}:${1024 + Math.floor(r() * 60000)}`;
  const target = `10.0.0.${Math.floor(r() * 254) + 1}:80`;
  const time = new Date(t).toISOString().replace('Z', '') + '123Z';
  const rt = (r() * 0.01).toFixed(3);
  const tt = (r() * (r() < 0.02 ? 5 : 0.2)).toFixed(3);
  const host = https ? 'https://www.example.com:443' : 'http://www.example.com:80';
  return [
    https ? 'https' : 'http',
    time,
    'app/my-loadbalancer/50dc6c495c0c9188',
    client,
    target,
    rt,
    tt,
    '0.000',
    status,
    status,
    Math.floor(r() * 900),
    Math.floor(r() * 90000),
    `"GET ${host}${path} HTTP/1.1"`,
    `"${AGENTS[Math.floor(r() * AGENTS.length)]}"`,
    https ? 'ECDHE-RSA-AES128-GCM-SHA256' : '-',
    https ? 'TLSv1.2' : '-',
    'arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067',
    `"Root=1-${hex(r, 8)}-${hex(r, 24)}"`,
    https ? '"www.example.com"' : '"-"',
    https ? '"arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"' : '"-"',
    '0',
    time,
    '"forward"',
    '"-"',
    '"-"',
    `"${target}"`,
    `"${status}"`,
    '"-"',
    '"-"',
    `TID_${hex(r, 32)}`,
    '"-"',
    '"-"',
    '"-"',
  ].join(' ');
}

export function albFile(count: number, seed = 2, start = Date.UTC(2026, 10, 25, 10)): string {
  const r = rng(seed);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(albLine(r, start + i * 37));
  return `${lines.join('\n')}\n`;
}

export const CT_KEY = (n: number) =>
  `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/25/${ACCOUNT}_CloudTrail_us-east-1_20261125T10${String(n).padStart(2, '0')}Z_Mu0KsOhtH1ar15ZZ.json.gz`;
export const ALB_KEY = (n: number) =>
  `AWSLogs/${ACCOUNT}/elasticloadbalancing/us-east-2/2026/11/25/${ACCOUNT}_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_20261125T10${String(n).padStart(2, '0')}Z_192.168.131.39_2k4qfb2n.log.gz`;
