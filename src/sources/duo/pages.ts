import type { Cursor } from './checkpoint.js';
import type { DuoAnswer, DuoClient } from './client.js';
import type { DuoLogSpec } from './logs.js';

/** Duo's v1 administrator log answers at most this many events per request. */
export const V1_PAGE = 1000;

/** One answer of a Duo log endpoint. */
export interface DuoPage {
  events: unknown[];
  /** `texts[i]`: events[i] as Duo wrote it, when the page was read event by event. */
  texts?: readonly (string | undefined)[];
  nextOffset?: string;
}

/** A page as the log's spec reads the answer, with its events' texts when they are its events. */
function readPage(spec: DuoLogSpec, answer: DuoAnswer): DuoPage {
  const page: DuoPage = spec.read(answer.response);
  if (answer.events && answer.events.list === page.events) page.texts = answer.events.texts;
  return page;
}

/** A v2 request window: milliseconds, and Duo's paging cursor to start from. */
export interface V2Window {
  mintime: number;
  maxtime: number;
  limit: number;
  nextOffset?: string | undefined;
}

/**
 * Duo's v2 paging: one window, pages chained by next_offset. The next page is asked for while
 * this one is delivered, so Duo's latency overlaps our work; when the reader stops early (a
 * failed delivery) that answer is dropped and the next pass starts from the checkpoint.
 */
export async function* v2Pages(
  client: DuoClient,
  spec: DuoLogSpec,
  window: V2Window,
  signal: AbortSignal,
): AsyncGenerator<DuoPage, void> {
  const params = {
    mintime: String(window.mintime),
    maxtime: String(window.maxtime),
    limit: String(window.limit),
    sort: 'ts:asc',
  };
  const ask = (offset: string | undefined) => {
    const answer = client.get(
      spec.path,
      offset ? { ...params, next_offset: offset } : params,
      signal,
      spec.list,
    );
    answer.catch(() => undefined);
    return answer;
  };
  let next = ask(window.nextOffset);
  for (;;) {
    const page = readPage(spec, await next);
    if (page.nextOffset) next = ask(page.nextOffset);
    yield page;
    if (!page.nextOffset) return;
  }
}

/**
 * Duo's v1 paging: `mintime` in whole seconds from where the log stands after the previous page
 * (`standsAt`, ms); a page shorter than the maximum is the last.
 */
export async function* v1Pages(
  client: DuoClient,
  spec: DuoLogSpec,
  standsAt: () => number,
  signal: AbortSignal,
): AsyncGenerator<DuoPage, void> {
  for (;;) {
    const mintime = String(Math.floor(standsAt() / 1000));
    const page = readPage(spec, await client.get(spec.path, { mintime }, signal, spec.list));
    yield page;
    if (page.events.length < V1_PAGE) return;
  }
}

/** A new event of a page, and its place in the page. */
export interface PageEntry {
  ts: number;
  id: string;
  event: unknown;
  at: number;
}

/**
 * Picks the events of a page not delivered yet and moves `cursor` past them as if delivered
 * (and past those the previous collector delivered, see Cursor.skip). Events newer than
 * `maxtime` end the walk: v1 has no maxtime, and Duo advises to leave the last two minutes.
 */
export function walkPage(
  cursor: Cursor,
  spec: DuoLogSpec,
  events: readonly unknown[],
  maxtime = Number.POSITIVE_INFINITY,
): { entries: PageEntry[]; tooNew: boolean } {
  const entries: PageEntry[] = [];
  let prevTs = cursor.ts;
  for (let at = 0; at < events.length; at++) {
    const event = events[at];
    // An event without a timestamp keeps its place in Duo's order; the parser dead-letters it.
    const ts = spec.time(event) ?? prevTs;
    prevTs = ts;
    if (ts > maxtime) return { entries, tooNew: true };
    const id = spec.id(event);
    if (cursor.deliveredBefore(ts, id) || cursor.delivered(ts, id)) continue;
    cursor.advance(ts, id);
    entries.push({ ts, id, event, at });
  }
  return { entries, tooNew: false };
}
