/**
 * Day-file names from a strftime-like pattern, so a log host keeps the names its cron jobs and
 * people know (duo_watcher's `auth/%y%m%d`). Only the day's parts are tokens: an event field
 * never reaches a file name, and the pattern itself may hold no path separator.
 */
export const DEFAULT_FILE_NAME = '{dir}-%Y-%m-%d.jsonl';

const TOKEN = /\{dir\}|%[Yymd%]/g;
const LITERAL = /^[\w.-]*$/;

/** Why a pattern cannot name day files, or undefined when it can. */
export function fileNameProblem(pattern: string): string | undefined {
  const literals = pattern.split(TOKEN);
  if (!literals.every((l) => LITERAL.test(l)))
    return 'use letters, digits, . _ - and the tokens {dir} %Y %y %m %d %% only (no / or other %)';
  const has = (t: string) => pattern.includes(t);
  if (!has('%d') || !has('%m') || !(has('%Y') || has('%y'))) return 'name the day with %d, %m and %Y or %y';
  return undefined;
}

/** The file name of `day` (YYYY-MM-DD) in the folder `dir`. */
export function dayFileName(pattern: string, dir: string, day: string): string {
  const [y, m, d] = day.split('-') as [string, string, string];
  return pattern.replace(TOKEN, (t) => {
    switch (t) {
      case '{dir}':
        return dir;
      case '%Y':
        return y;
      case '%y':
        return y.slice(-2);
      case '%m':
        return m;
      case '%d':
        return d;
      default:
        return '%';
    }
  });
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

/** Reads the day (YYYY-MM-DD) back from a file name, or undefined when the name is not a day file. */
export function dayOfFileName(pattern: string, dir: string, name: string): string | undefined {
  const order: string[] = [];
  const source = pattern
    .split(/(\{dir\}|%[Yymd%])/)
    .map((part) => {
      if (part === '{dir}') return escapeRegex(dir);
      if (part === '%%') return '%';
      if (part === '%Y' || part === '%y' || part === '%m' || part === '%d') {
        order.push(part);
        return part === '%Y' ? '(\\d{4})' : '(\\d{2})';
      }
      return escapeRegex(part);
    })
    .join('');
  const m = new RegExp(`^${source}$`).exec(name);
  if (!m) return undefined;
  const parts: Record<string, string> = {};
  order.forEach((t, i) => {
    parts[t] = m[i + 1]!;
  });
  // Two-digit years are this century's, as duo_watcher's %y names are.
  const year = parts['%Y'] ?? `20${parts['%y']}`;
  const day = `${year}-${parts['%m']}-${parts['%d']}`;
  const t = Date.parse(`${day}T00:00:00Z`);
  return Number.isFinite(t) && new Date(t).toISOString().startsWith(day) ? day : undefined;
}
