import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';

const root = join(import.meta.dirname, '..');

/** The [Service] settings of a unit file; continuation lines (`\`) are joined. */
function serviceSection(text: string): Map<string, string> {
  const joined = text.replace(/\\\n\s*/g, ' ');
  const out = new Map<string, string>();
  let section = '';
  for (const line of joined.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line.trim());
    if (header) section = header[1]!;
    const kv = /^(\w+)=(.*)$/.exec(line.trim());
    if (kv && section === 'Service') out.set(kv[1]!, kv[2]!);
  }
  return out;
}

const seconds = (v: string) => {
  const m = /^(\d+)(s|min)?$/.exec(v);
  if (!m) throw new Error(`not a systemd time span: ${v}`);
  return Number(m[1]) * (m[2] === 'min' ? 60 : 1);
};

describe('deploy/systemd/logferry.service', () => {
  const unit = serviceSection(readFileSync(join(root, 'deploy/systemd/logferry.service'), 'utf8'));
  const config = parseConfig(
    readFileSync(join(root, 'config/examples/log-host.yaml'), 'utf8'),
    'log-host.yaml',
    {},
  );

  it('restarts on failure and runs the daemon with the log-host example config', () => {
    expect(unit.get('Restart')).toBe('on-failure');
    expect(unit.get('Type')).toBe('exec');
    expect(unit.get('ExecStart')).toMatch(/bin\/logferry\.mjs run --config \/etc\/logferry\/log-host\.yaml$/);
  });

  it('reloads by SIGHUP, which the daemon takes as rotate (reopen the day files)', () => {
    expect(unit.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
  });

  it("waits for readiness on the example config's status address, and stops after the drain", () => {
    expect(unit.get('ExecStartPost')).toContain(`http://${config.daemon.status_listen}/health`);
    expect(seconds(unit.get('TimeoutStopSec')!) * 1000).toBeGreaterThan(config.daemon.drain_timeout);
  });

  it('lets the service write where the example config writes, and nowhere else', () => {
    const writable = unit.get('ReadWritePaths')!.split(' ');
    const sink = config.sinks[0] as { path: string };
    const paths = [
      sink.path,
      (config.state as { path: string }).path,
      (config.dead_letter as { path: string }).path,
    ];
    for (const p of paths) expect(writable.some((w) => p === w || p.startsWith(`${w}/`))).toBe(true);
    expect(unit.get('ProtectSystem')).toBe('strict');
  });
});
