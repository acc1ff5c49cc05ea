import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { memoryLogger } from '../../src/core/log.js';
import { type Daemon, startDaemon } from '../../src/runtimes/daemon/daemon.js';
import { launchBrowser } from '../../src/testing/browser.js';

let dir: string;
let daemon: Daemon;
let browser: Browser;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-e2e-'));
  const config = parseConfig(
    `
state: { type: file, path: ${dir}/state }
dead_letter: { type: file, path: ${dir}/dlq }
sources:
  - { name: demo, type: demo, interval: 150ms, events_per_record: 20 }
sinks:
  - { name: daily, type: daily_files, path: ${dir}/logs, retention_days: 0 }
daemon: { status_listen: '127.0.0.1:0' }
`,
    'e2e.yaml',
  );
  daemon = await startDaemon(config, { log: memoryLogger() });
  url = `http://127.0.0.1:${(daemon.server!.address() as AddressInfo).port}/`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await daemon?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('dashboard', () => {
  it('shows sources and live totals, and pauses and resumes a source', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    const row = page.locator('tr[data-source="demo"]');
    await expect.poll(() => row.locator('td.state').textContent(), { timeout: 10_000 }).toBe('running');
    await expect
      .poll(async () => Number((await page.locator('#t-delivered').textContent())?.replace(/,/g, '')), {
        timeout: 10_000,
      })
      .toBeGreaterThan(0);
    expect(await page.locator('#conn').textContent()).toBe('live');

    await row.getByRole('button', { name: 'pause' }).click();
    await expect.poll(() => row.locator('td.state').textContent(), { timeout: 5000 }).toBe('paused');
    expect(daemon.runners[0]!.state).toBe('paused');

    await row.getByRole('button', { name: 'resume' }).click();
    await expect.poll(() => row.locator('td.state').textContent(), { timeout: 5000 }).toBe('running');
    await page.screenshot({ path: join(dir, 'dashboard.png') });
    if (process.env.LOGFERRY_SCREENSHOT)
      await page.screenshot({ path: process.env.LOGFERRY_SCREENSHOT, fullPage: true });
  });

  it('refuses control calls that a foreign web page could forge', async () => {
    const res = await fetch(`${url}sources/demo/pause`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
    });
    expect(res.status).toBe(415);
    expect(daemon.runners[0]!.state).toBe('running');
  });

  it('serves Prometheus metrics and a health check', async () => {
    const metrics = await (await fetch(`${url}metrics`)).text();
    expect(metrics).toMatch(
      /# TYPE logferry_events_total counter\nlogferry_events_total\{source="demo"\} \d+/,
    );
    const health = await fetch(`${url}health`);
    expect(health.status).toBe(200);
  });
});
