import { rng } from './cwlogs.js';
import type { DuoLogKind, FakeEventStore, StoredEvent } from './duo-fake.js';

/**
 * Realistic Duo log events, shaped like the documented example responses of the Admin API
 * (authentication log v2, administrator log v1, telephony log v2). Deterministic for a given
 * index and random source, so tests, the benchmark and `pull duo --demo` agree.
 */

const CITIES = [
  { city: 'Ann Arbor', state: 'Michigan', country: 'United States', ip: '169.232.89.219' },
  { city: 'Austin', state: 'Texas', country: 'United States', ip: '198.51.100.23' },
  { city: 'London', state: 'England', country: 'United Kingdom', ip: '203.0.113.77' },
  { city: 'Berlin', state: 'Berlin', country: 'Germany', ip: '192.0.2.145' },
];
const USERS = ['narroway', 'jsmith', 'mchen', 'apatel', 'lgarcia', 'kwong'];
const APPS = [
  { key: 'DIY231J8BR23QK4UKBY8', name: 'Microsoft Azure Active Directory' },
  { key: 'DIF947T2MN58HZ1DPWRC', name: 'Cisco ASA VPN' },
  { key: 'DIQH9BKRS4W5T0E3JCVB', name: 'AWS Console SSO' },
];
const OUTCOMES = [
  { factor: 'duo_push', result: 'success', reason: 'user_approved' },
  { factor: 'duo_push', result: 'denied', reason: 'user_marked_fraud' },
  { factor: 'phone_call', result: 'success', reason: 'user_approved' },
  { factor: 'passcode', result: 'failure', reason: 'invalid_passcode' },
  { factor: 'sms_passcode', result: 'success', reason: 'valid_passcode' },
  { factor: 'webauthn_credential', result: 'success', reason: 'user_approved' },
  { factor: 'not_available', result: 'denied', reason: 'deny_unenrolled_user' },
];

const pick = <T>(list: readonly T[], r: () => number): T => list[Math.floor(r() * list.length)]!;

/** A txid-like id that sorts in index order (Duo's next_offset tie-breaks on txid). */
export function txid(prefix: string, i: number): string {
  const n = i.toString(16).padStart(12, '0');
  return `${prefix.padEnd(8, '0').slice(0, 8)}-0000-4000-8000-${n}`;
}

function iso(ms: number, micros = true): string {
  const s = new Date(ms).toISOString().replace('Z', '');
  return micros ? `${s}${String(ms % 7).padStart(3, '0')}+00:00` : `${s.slice(0, 19)}+00:00`;
}

/** One authentication log v2 event (`response.authlogs[]`). `timestamp` is in seconds, as Duo sends it. */
export function authEvent(i: number, ts: number, r: () => number): Record<string, unknown> {
  const place = pick(CITIES, r);
  const user = pick(USERS, r);
  const out = pick(OUTCOMES, r);
  return {
    access_device: {
      browser: 'Chrome',
      browser_version: '67.0.3396.99',
      flash_version: 'uninstalled',
      hostname: null,
      ip: place.ip,
      is_encryption_enabled: true,
      is_firewall_enabled: true,
      is_password_set: true,
      java_version: 'uninstalled',
      location: { city: place.city, country: place.country, state: place.state },
      os: 'Mac OS X',
      os_version: '10.14.1',
      security_agents: [],
    },
    alias: '',
    application: pick(APPS, r),
    auth_device: {
      ip: '192.168.225.254',
      key: 'DP5BG1D6B4HBNEW7D6FA',
      location: { city: place.city, country: place.country, state: place.state },
      name: 'My iPhone X (734-555-2342)',
    },
    email: `${user}@example.com`,
    event_type: 'authentication',
    factor: out.factor,
    isotimestamp: iso(ts),
    ood_software: null,
    reason: out.reason,
    result: out.result,
    timestamp: Math.floor(ts / 1000),
    trusted_endpoint_status: 'not trusted',
    txid: txid('a', i),
    user: {
      groups: ['Duo Users', 'CorpHQ Users'],
      key: 'DU3KC77WJ06Y5HIV7XKQ',
      name: `${user}@example.com`,
    },
  };
}

const ADMIN_ACTIONS = [
  {
    action: 'user_update',
    object: 'jsmith',
    description: { notes: '', realname: 'Joe Smith', status: 'active' },
  },
  {
    action: 'admin_login',
    object: null,
    description: {
      ip_address: '10.1.2.3',
      device: '555-555-1234',
      factor: 'push',
      primary_auth_method: 'Password',
    },
  },
  { action: 'integration_create', object: 'Cisco ASA VPN', description: { type: 'ASA SSL VPN' } },
  { action: 'user_delete', object: 'olduser', description: { realname: 'Old User' } },
  {
    action: 'admin_login_error',
    object: null,
    description: { error: 'Invalid password', ip_address: '198.51.100.7' },
  },
];

/** One administrator log v1 event (`response[]`). `timestamp` is in seconds; v1 has no ids. */
export function adminEvent(i: number, ts: number, r: () => number): Record<string, unknown> {
  const a = pick(ADMIN_ACTIONS, r);
  return {
    action: a.action,
    description: JSON.stringify({ ...a.description, seq: i }),
    isotimestamp: iso(ts, false),
    object: a.object,
    timestamp: Math.floor(ts / 1000),
    username: i % 5 === 0 ? 'API' : 'Ada Admin',
  };
}

/** One telephony log v2 event (`response.items[]`): `ts` is an ISO string, ids are UUIDs. */
export function telephonyEvent(i: number, ts: number, r: () => number): Record<string, unknown> {
  const sms = r() < 0.6;
  return {
    context: pick(['authentication', 'enrollment', 'administrator login', 'verify'], r),
    credits: sms ? 1 : 2,
    phone: `+1555555${String(100 + (i % 900)).padStart(4, '0')}`,
    telephony_id: txid('7e1e', i),
    ts: iso(ts),
    txid: txid('b', i),
    type: sms ? 'sms' : 'phone',
  };
}

/**
 * A log of `count` generated events from `start`, `stepMs` apart (several may share a
 * millisecond when `stepMs` < 1), built on demand: a million events cost no memory.
 */
export class GeneratedEventStore implements FakeEventStore {
  constructor(
    private readonly kind: DuoLogKind,
    readonly size: number,
    private readonly start: number,
    private readonly stepMs: number,
    private readonly seed = 7,
  ) {}
  ts(i: number): number {
    const t = this.start + Math.floor(i * this.stepMs);
    // The administrator log has whole seconds only.
    return this.kind === 'administrator' ? t - (t % 1000) : t;
  }
  id(i: number): string {
    return this.kind === 'telephony' ? txid('7e1e', i) : txid(this.kind === 'administrator' ? 'ad' : 'a', i);
  }
  body(i: number): Record<string, unknown> {
    const r = rng(this.seed * 1_000_003 + i);
    const ts = this.ts(i);
    if (this.kind === 'authentication') return authEvent(i, ts, r);
    if (this.kind === 'administrator') return adminEvent(i, ts, r);
    return telephonyEvent(i, ts, r);
  }
}

/** Events for `FakeDuo.add`: `count` of one log starting at `start`, `stepMs` apart. */
export function makeEvents(
  kind: DuoLogKind,
  count: number,
  start: number,
  stepMs: number,
  offset = 0,
): StoredEvent[] {
  const g = new GeneratedEventStore(kind, count + offset, start - Math.floor(offset * stepMs), stepMs);
  const out: StoredEvent[] = [];
  for (let i = offset; i < offset + count; i++) out.push({ ts: g.ts(i), id: g.id(i), body: g.body(i) });
  return out;
}
