import type { Alert } from '../core/contracts.js';
import { getField } from '../core/fields.js';

/** Text for email subscribers and chat: what, who, where, when, and the link back. */
export function alertText(a: Alert): string {
  const lines = [
    `${a.severity.toUpperCase()}: ${a.title}`,
    '',
    a.summary,
    '',
    `Rule:     ${a.rule.id}${a.rule.tags.length ? ` (${a.rule.tags.join(', ')})` : ''}`,
    `When:     ${a.time}`,
  ];
  if (a.who) lines.push(`Who:      ${a.who}`);
  if (a.where) lines.push(`Where:    ${a.where}`);
  if (a.aggregate)
    lines.push(
      `Count:    ${a.aggregate.function} = ${round(a.aggregate.value)} in ${human(a.aggregate.window_ms)} (threshold ${a.aggregate.threshold})`,
    );
  if (a.suppressed > 0) lines.push(`Repeats:  ${a.suppressed} more suppressed since the previous alert`);
  if (a.link) lines.push(`Link:     ${a.link}`);
  lines.push(`Event:    ${a.event_id} from ${a.origin}`);
  if (a.rule.description) lines.push('', a.rule.description);
  return lines.join('\n');
}

export function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

export function human(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/** `{field.path}` placeholders filled from the event (URL-encoded); unknown ones become empty. */
export function fillTemplate(template: string, doc: Record<string, unknown>): string {
  return template.replace(/\{([@\w.-]+)\}/g, (_m, path: string) => {
    const v = getField(doc, path);
    return v === undefined || v === null || typeof v === 'object' ? '' : encodeURIComponent(String(v));
  });
}

/** Links back to the event when the rule gives none. */
export const DEFAULT_LINKS: Record<string, string> = {
  'aws.cloudtrail':
    'https://console.aws.amazon.com/cloudtrailv2/home?region={cloud.region}#/events/{aws.cloudtrail.eventID}',
};

/** Printable ASCII, one line, at most `max` characters: what SNS accepts as an email subject. */
export function asciiLine(text: string, max: number): string {
  const flat = text
    .normalize('NFKD')
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}
