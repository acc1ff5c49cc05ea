import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertEvent } from '../../src/alerts/sink/index.js';
import { parseConfig } from '../../src/config/load.js';
import { finalizeEvent } from '../../src/core/pipeline.js';
import { memoryLogger } from '../../src/platform/log.js';
import { type Daemon, startDaemon } from '../../src/runtimes/daemon/daemon.js';
import { launchBrowser } from '../../src/testing/browser.js';

/**
 * The screenshots in docs/ are taken here (`UPDATE_SCREENSHOTS=1 npx vitest run test/e2e`), so they
 * show the current dashboard; other runs take them into a temporary folder, leaving the checkout
 * as it was.
 */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? join(import.meta.dirname, '../../docs/screenshots')
  : join(tmpdir(), `logferry-screenshots-${process.pid}`);

let dir: string;
let daemon: Daemon;
let browser: Browser;
let page: Page;
let url: string;
const marker = `run-${Date.now().toString(36)}`;
// A JSON-lines application log, as a log host drops it into the inbox.
const LINES = [
  {
    user: { name: 'alice' },
    http: { response: { status_code: 200, time_ms: 91 } },
    message: `GET /login 200 ${marker}`,
  },
  {
    user: { name: 'bob' },
    http: { response: { status_code: 500, time_ms: 732 } },
    message: `POST /api/export 500 ${marker}`,
  },
  {
    user: { name: 'alice' },
    http: { response: { status_code: 200, time_ms: 1210 } },
    message: `GET /api/report 200 ${marker}`,
  },
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-e2e-'));
  const config = parseConfig(
    `
state: { type: file, path: ${dir}/state }
dead_letter: { type: file, path: ${dir}/dlq }
delivery: { max_attempts: 2, backoff: 10ms, max_backoff: 20ms }
sources:
  - { name: demo, type: demo, interval: 150ms, events_per_record: 20 }
  - { name: inbox, type: inbox, path: ${dir}/inbox, poll_interval: 200ms, settle: 100ms }
sinks:
  - { name: store, type: local_store, path: ${dir}/store/events.duckdb }
  - { name: daily, type: daily_files, path: ${dir}/logs, retention_days: 0 }
daemon: { status_listen: '127.0.0.1:0' }
`,
    'e2e.yaml',
  );
  daemon = await startDaemon(config, { log: memoryLogger() });
  url = `http://127.0.0.1:${(daemon.server!.address() as AddressInfo).port}/`;
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await mkdir(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await daemon?.stop();
  await rm(dir, { recursive: true, force: true });
  if (!process.env.UPDATE_SCREENSHOTS) await rm(SCREENSHOTS, { recursive: true, force: true });
});

async function searchOnPage(query: string) {
  await page.goto(`${url}#search`);
  await page.locator('#q').fill(query);
  await page.getByRole('button', { name: 'Search' }).click();
}

describe('dashboard', () => {
  it('finds the events of a file dropped in the inbox and expands one', async () => {
    await mkdir(join(dir, 'inbox'), { recursive: true });
    const now = Date.now();
    const text = LINES.map((l, i) =>
      JSON.stringify({ '@timestamp': new Date(now - i * 1000).toISOString(), ...l }),
    );
    await writeFile(join(dir, 'inbox', 'app.jsonl'), `${text.join('\n')}\n`);

    const rows = page.locator('#results tbody tr.hit');
    await expect
      .poll(
        async () => {
          await searchOnPage(`"${marker}" AND http.response.time_ms:>500`);
          return rows.count();
        },
        { timeout: 15_000 },
      )
      .toBe(2);
    expect(await page.locator('#search-summary').textContent()).toMatch(/^2 events/);
    expect(await page.locator('#histogram div').count()).toBeGreaterThan(0);
    await rows.first().click();
    const doc = JSON.parse((await page.locator('#results tr.doc pre').textContent()) ?? '{}');
    // Newest first: bob's line is a second younger than alice's report.
    expect(doc.user.name).toBe('bob');
    expect(doc.http.response.time_ms).toBe(732);
    expect(doc.event.dataset).toBe('generic.json');
    await page.screenshot({ path: join(SCREENSHOTS, 'search.png') });
  });

  it('keeps the newest search when the one from page load answers later', async () => {
    // The search a page makes on load (empty query) answers last, as it can on a busy daemon.
    const delayLoadSearch = async (route: Route) => {
      if (new URL(route.request().url()).searchParams.get('q') === '')
        await new Promise((r) => setTimeout(r, 1000));
      await route.continue();
    };
    await page.route('**/api/search?**', delayLoadSearch);
    try {
      const late = page.waitForResponse((r) => {
        const u = new URL(r.url());
        return u.pathname === '/api/search' && u.searchParams.get('q') === '';
      });
      await page.goto(`${url}?late#search`);
      await page.locator('#q').fill(`"${marker}" AND http.response.time_ms:>500`);
      await page.getByRole('button', { name: 'Search' }).click();
      const rows = page.locator('#results tbody tr.hit');
      await expect.poll(() => rows.count()).toBe(2);
      await late;
      // Let the page handle the late answer before looking again.
      await page.evaluate(() => new Promise((r) => setTimeout(r, 100)));
      expect(await rows.count()).toBe(2);
      expect(await page.locator('#search-summary').textContent()).toMatch(/^2 events/);
    } finally {
      await page.unroute('**/api/search?**', delayLoadSearch);
    }
  });

  it('shows a search mistake instead of results', async () => {
    await searchOnPage('user.name:"unclosed');
    await expect.poll(() => page.locator('#search-error').textContent()).toMatch(/unclosed quote/);
  });

  it('shows sources with rates, pauses and resumes one, and links an alert to its event', async () => {
    const found = (await (
      await fetch(`${url}api/search?q=${encodeURIComponent(`user.name:bob "${marker}"`)}`)
    ).json()) as { hits: { id: string; doc: Record<string, unknown> }[] };
    const hit = found.hits[0];
    // An alert as the rules' sink output writes it, pointing at bob's event.
    const alert = alertEvent({
      id: `alert-${marker}`,
      rule: {
        id: 'slow-export',
        title: 'Slow export',
        description: 'An export took long',
        severity: 'high',
        tags: [],
      },
      severity: 'high',
      title: 'Slow export',
      summary: `bob: POST /api/export took 732 ms`,
      time: new Date().toISOString(),
      dataset: 'generic.json',
      dedup_key: 'bob',
      suppressed: 0,
      event_id: hit!.id,
      origin: 'inbox app.jsonl',
      event: hit!.doc,
    });
    expect(await daemon.app.sinks.get('store')!.write([alert])).toEqual([]);

    await page.goto(`${url}#overview`);
    const row = page.locator('tr[data-source="demo"]');
    await expect.poll(() => row.locator('td.state').textContent(), { timeout: 10_000 }).toBe('running');
    await expect
      .poll(async () => Number(await page.locator('tr[data-key="sink store"] td.rate').textContent()), {
        timeout: 10_000,
      })
      .toBeGreaterThan(0);
    expect(await page.locator('#conn').textContent()).toBe('live');

    await row.getByRole('button', { name: 'pause' }).click();
    await expect.poll(() => row.locator('td.state').textContent(), { timeout: 5000 }).toBe('paused');
    expect(daemon.runners[0]!.state).toBe('paused');
    await row.getByRole('button', { name: 'resume' }).click();
    await expect.poll(() => row.locator('td.state').textContent(), { timeout: 5000 }).toBe('running');

    const alertRow = page.locator('#alerts tbody tr', { hasText: 'took 732 ms' });
    await expect.poll(() => alertRow.count(), { timeout: 5000 }).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });
    await alertRow.getByRole('link', { name: 'event' }).click();
    await expect.poll(() => page.locator('#results tbody tr.hit').count()).toBe(1);
    expect(await page.locator('#results tbody tr.hit td.event').textContent()).toContain(
      'POST /api/export 500',
    );
  });

  it('lists dead letters with their reason and replays one', async () => {
    // Events the daily sink refused for good, as runBatch stores them (kind, sink, reason, event).
    for (const n of [1, 2]) {
      const event = finalizeEvent(
        {
          dataset: 'app.audit',
          timestamp: Date.now(),
          doc: { message: `audit ${n} ${marker}` },
          idParts: [marker, n],
        },
        { source: 'inbox', type: 'inbox', ref: `${dir}/inbox/audit.jsonl:${n}` },
      );
      await daemon.app.deadLetter.put({
        kind: 'event',
        source: 'inbox',
        sink: 'daily',
        origin: event.origin,
        error: 'daily: deliver: cannot write logs/app.audit: ENOSPC: no space left on device',
        retryable: false,
        attempts: 2,
        event,
      });
    }
    await page.goto(`${url}#dead-letters`);
    const rows = page.locator('#dead-letters tbody tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2);
    expect(await rows.first().locator('td.error').textContent()).toMatch(/no space left on device/);
    await page.screenshot({ path: join(SCREENSHOTS, 'dead-letters.png') });

    const id = await rows.first().getAttribute('data-id');
    await rows.first().getByRole('button', { name: 'replay' }).click();
    await expect.poll(() => page.locator('#replay-result').textContent()).toMatch(/^replayed /);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await page.locator(`#dead-letters tr[data-id="${id}"]`).count()).toBe(0);
    const [day] = await readdir(join(dir, 'logs', 'app.audit'));
    expect((await readFile(join(dir, 'logs', 'app.audit', day!), 'utf8')).trim().split('\n')).toHaveLength(1);
  });

  it('refuses control calls that a foreign web page could forge', async () => {
    for (const path of ['sources/demo/pause', 'api/dead-letters/replay', 'api/query']) {
      const res = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1',
      });
      expect(res.status).toBe(415);
    }
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
