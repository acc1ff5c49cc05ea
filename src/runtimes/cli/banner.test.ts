import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { banner } from './banner.js';

const local = parseConfig(
  readFileSync(join(import.meta.dirname, '../../../config/examples/local.yaml'), 'utf8'),
  'local.yaml',
  {},
);

describe('start-up banner', () => {
  it('tells a new user where to drop files, where output goes and where the dashboard is', () => {
    const text = banner(local, 'config/examples/local.yaml');
    expect(text).toContain('source inbox: drop files into ./var/inbox');
    expect(text).toContain('sink   daily: writing to ./var/logs');
    expect(text).toContain('dead letters: ./var/dead-letter');
    expect(text).toContain('status and dashboard: http://127.0.0.1:8686/');
  });

  it('tells where the HTTP intake listens', () => {
    const cfg = parseConfig(
      'sources: [{ name: intake, type: http_intake, firehose: {}, ingest: {} }]\nsinks: [{ name: out, type: stdout }]',
      'intake.yaml',
      {},
    );
    expect(banner(cfg, 'intake.yaml')).toContain(
      'source intake: accepting POST on http://127.0.0.1:8088: /firehose (Firehose), /ingest (NDJSON)',
    );
  });

  it('tells where the UDP status answers when it is on, and says nothing of it when off', () => {
    const cfg = parseConfig(
      'sources: [{ name: d, type: demo }]\nsinks: [{ name: out, type: stdout }]\ndaemon: { udp: { port: 2681 } }',
      'udp.yaml',
      {},
    );
    expect(banner(cfg, 'udp.yaml')).toContain('UDP status (duo_watcher ding): 0.0.0.0:2681');
    expect(banner(local, 'local.yaml')).not.toContain('UDP');
  });

  it('does not promise a dashboard that was turned off', () => {
    expect(banner(local, 'local.yaml', false)).not.toContain('dashboard');
  });
});
