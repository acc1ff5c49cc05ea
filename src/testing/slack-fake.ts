import { LoopbackFake, type Received } from './loopback.js';

/**
 * A strict stand-in for a Slack incoming webhook (https://api.slack.com/messaging/webhooks):
 * POST JSON to the hook's path; `text` or `blocks` required; Block Kit blocks checked for the
 * shapes and limits Slack documents. Errors answer as Slack does: a short text body
 * (`invalid_payload`, `no_text`, `invalid_blocks`, `no_service`) with 400/404, and 429 with
 * Retry-After when told to.
 */
export class FakeSlack extends LoopbackFake {
  constructor(readonly hookPath = '/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX') {
    super();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}${this.hookPath}`;
  }

  /** Payloads Slack accepted. */
  get messages(): Record<string, unknown>[] {
    return this.received.map((r) => JSON.parse(r.body) as Record<string, unknown>);
  }

  protected handle(r: Received) {
    if (r.path !== this.hookPath) return { status: 404, body: 'no_service' };
    if (!String(r.headers['content-type'] ?? '').startsWith('application/json'))
      return { status: 400, body: 'invalid_payload' };
    let p: unknown;
    try {
      p = JSON.parse(r.body);
    } catch {
      return { status: 400, body: 'invalid_payload' };
    }
    if (!isObj(p)) return { status: 400, body: 'invalid_payload' };
    const hasText = typeof p.text === 'string' && p.text.trim() !== '';
    const hasBlocks = Array.isArray(p.blocks) && p.blocks.length > 0;
    if (!hasText && !hasBlocks) return { status: 400, body: 'no_text' };
    if (p.blocks !== undefined) {
      const why = blocksProblem(p.blocks);
      if (why) return { status: 400, body: `invalid_blocks`, headers: { 'x-fake-reason': why } };
    }
    return { status: 200, body: 'ok' };
  }
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function textObject(t: unknown, max: number, plainOnly = false): string | undefined {
  if (!isObj(t)) return 'text object is not an object';
  if (t.type !== 'plain_text' && (plainOnly || t.type !== 'mrkdwn')) return `bad text type ${String(t.type)}`;
  if (typeof t.text !== 'string' || t.text.length === 0) return 'empty text';
  if (t.text.length > max) return `text over ${max} characters`;
  const allowed = new Set(['type', 'text', t.type === 'plain_text' ? 'emoji' : 'verbatim']);
  const extra = Object.keys(t).find((k) => !allowed.has(k));
  return extra ? `unknown key ${extra} in text object` : undefined;
}

function keys(b: Record<string, unknown>, allowed: string[]): string | undefined {
  const extra = Object.keys(b).find((k) => !['type', 'block_id', ...allowed].includes(k));
  return extra ? `unknown key ${extra} in ${String(b.type)} block` : undefined;
}

function blocksProblem(blocks: unknown): string | undefined {
  if (!Array.isArray(blocks)) return 'blocks is not an array';
  if (blocks.length > 50) return 'more than 50 blocks';
  for (const b of blocks) {
    if (!isObj(b)) return 'block is not an object';
    switch (b.type) {
      case 'divider':
        if (keys(b, [])) return keys(b, []);
        break;
      case 'header': {
        const k = keys(b, ['text']) ?? textObject(b.text, 150, true);
        if (k) return k;
        break;
      }
      case 'section': {
        const k = keys(b, ['text', 'fields', 'accessory']);
        if (k) return k;
        if (b.text === undefined && b.fields === undefined) return 'section needs text or fields';
        if (b.text !== undefined) {
          const t = textObject(b.text, 3000);
          if (t) return t;
        }
        if (b.fields !== undefined) {
          if (!Array.isArray(b.fields) || b.fields.length === 0 || b.fields.length > 10)
            return 'section fields: 1 to 10';
          for (const f of b.fields) {
            const t = textObject(f, 2000);
            if (t) return t;
          }
        }
        break;
      }
      case 'context': {
        const k = keys(b, ['elements']);
        if (k) return k;
        if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 10)
          return 'context elements: 1 to 10';
        for (const e of b.elements) {
          const t = textObject(e, 2000);
          if (t) return t;
        }
        break;
      }
      case 'actions': {
        const k = keys(b, ['elements']);
        if (k) return k;
        if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 25)
          return 'actions elements: 1 to 25';
        for (const e of b.elements) {
          if (!isObj(e) || e.type !== 'button') return 'only buttons are supported here';
          const t = textObject(e.text, 75, true);
          if (t) return t;
          if (
            e.url !== undefined &&
            (typeof e.url !== 'string' || e.url.length > 3000 || !/^https?:\/\//.test(e.url))
          )
            return 'button url must be an http(s) URL of at most 3000 characters';
        }
        break;
      }
      default:
        return `unknown block type ${String(b.type)}`;
    }
  }
  return undefined;
}
