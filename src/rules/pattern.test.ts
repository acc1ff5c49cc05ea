import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { checkRegex, compileGlob, compileRegex, requiredLiteral } from './pattern.js';

/** The engine alone, with no string fast path: what a case-insensitive regex must answer. */
function compileRe2Reference(p: string): { test: (s: string) => boolean } {
  const re = RE2JS.compile(RE2JS.translateRegExp(p), RE2JS.CASE_INSENSITIVE);
  return { test: (s) => re.matcher(s).find() };
}

// Patterns that take V8's backtracking engine hours or more on the hostile text beside them
// (`(a|aa)+$` already needs 44 s for 41 characters): the old engine times out here.
// The third text matches, so the engine is not simply answering false.
const HOSTILE: [string, string, string][] = [
  ['(a|aa)+$', `${'a'.repeat(60)}b`, 'ba'],
  ['^(a+)+$', `${'a'.repeat(60)}b`, 'aaa'],
  ['a*a*a*a*a*b', 'a'.repeat(20_000), 'xaab'],
  ['([a-z]|[a-c])+$', `${'c'.repeat(60)}!`, '!c'],
  ['(\\w+\\s?)+$', `${'word '.repeat(20)}!`, 'word word'],
];

describe('linear-time regexes', () => {
  it.each(HOSTILE)(
    '%s completes on hostile text',
    (p, hostile, matching) => {
      // V8 gives the same answers on short texts, which it can still afford.
      const short = hostile.slice(-12);
      expect(compileRegex(p)(short)).toBe(new RegExp(p).test(short));
      expect(compileRegex(p)(matching)).toBe(true);
      expect(new RegExp(p).test(matching)).toBe(true);
      expect(compileRegex(p)(hostile)).toBe(false);
    },
    60_000,
  );

  it('keeps JavaScript regex syntax and flags', () => {
    expect(compileRegex('^arn:aws:iam::\\d{12}:user/.+$')('arn:aws:iam::123456789012:user/alice')).toBe(true);
    expect(compileRegex('^arn:aws:iam::\\d{12}:user/.+$')('arn:aws:iam::1234:user/alice')).toBe(false);
    expect(compileRegex('\\u0041\\x42')('xABx')).toBe(true);
    expect(compileRegex('(?<name>St(op|art))Logging')('StartLogging')).toBe(true);
    expect(compileRegex('stoplogging', true)('StopLogging')).toBe(true);
    expect(compileRegex('Stop[a-z]+', true)('STOPLOGGING')).toBe(true);
    expect(compileRegex('Stop[a-z]+')('STOPLOGGING')).toBe(false);
    expect(compileRegex('\\bmallory\\b')('user/mallory is')).toBe(true);
    expect(compileRegex('\\bmallory\\b')('user/mallorys')).toBe(false);
  });

  it.each([
    ['health', 'a health check', true],
    ['health', 'a heal', false],
    ['^health', 'health check', true],
    ['^health', 'a health check', false],
    ['check$', 'health check', true],
    ['check$', 'check it', false],
    ['^a\\.b$', 'a.b', true],
    ['^a\\.b$', 'axb', false],
    ['a.b', 'axb', true],
  ])('text-only regex %s on %s gives %s', (p, text, want) => {
    expect(compileRegex(p)(text)).toBe(want);
    expect(new RegExp(p).test(text)).toBe(want);
  });

  it.each([
    ['user/(mallory|trudy)3\\b', 'user/'],
    ['^(terraform|pulumi)/3\\.', '/3.'],
    ['ab?cde', 'cde'],
    ['abc{0,2}def', 'def'],
    ['x\\x41bcd', 'x'],
    ['a|bcd', ''],
    ['(?i)abcd', ''],
    ['[abc]defg+h', 'defg'],
  ])('the literal %s cannot match without is %j', (p, lit) => {
    expect(requiredLiteral(p)).toBe(lit);
  });

  // Regexes that spell a few texts run as string operations, others behind a pre-check on the
  // texts they start with: the answers must stay V8's (safe on these short texts).
  const SPELLED = [
    '^(terraform|pulumi)/1\\.',
    'user/(mallory|trudy)0\\b',
    '(?:Get|Put)Object$',
    '^(a|b)(c|d)$',
    '(a|)x',
    '^(ab|a)c',
    'x(y|z)?w',
    'ab(c|d)+e',
    '(Get|List)[A-Z]\\w+',
    'a\\.(b|c)\\d',
    '^(?:s3|ec2)\\.amazonaws\\.com$',
    '(a|b)c|d',
    '((a|b)c)d',
    '(?<n>a|b)c',
    '^$',
    'ab*c',
    `^(${Array.from({ length: 70 }, (_, i) => `n${i}`).join('|')})$`,
  ];
  const TEXTS = [
    '',
    'terraform/1.7.0',
    'pulumi/1.2',
    'terraform/17',
    'xterraform/1.7',
    'Terraform/1.7',
    'User: arn:aws:iam::1:user/mallory0 is not',
    'user/trudy0x',
    'user/trudy0',
    'GetObject',
    'PutObjects',
    'ac',
    'bd',
    'abd',
    'x',
    'ax',
    'abc',
    'ac',
    'xw',
    'xyw',
    'xyzw',
    'abcde',
    'abcdce',
    'abe',
    'GetObject',
    'ListBuckets',
    'Getx',
    'a.b1',
    'a.c',
    's3.amazonaws.com',
    'ec2.amazonaws.com.evil',
    'bc',
    'd',
    'acd',
    'bcd',
    'ab',
    'n7',
    'n69',
    'n70',
  ];
  it.each(SPELLED)("%s gives V8's answers", (p) => {
    const test = compileRegex(p);
    const v8 = new RegExp(p);
    for (const t of TEXTS) expect(test(t), `${p} on ${JSON.stringify(t)}`).toBe(v8.test(t));
  });

  it('folds case as RE2 does for literal regexes with ignore_case, beyond ASCII too', () => {
    const texts = [
      'SSH',
      'ſsh',
      'İd',
      'id',
      'ID',
      'K',
      'k',
      '\u212a',
      'straße',
      'STRASSE',
      'ﬀ',
      'FF',
      'ΣΑΣ',
      'σας',
    ];
    for (const p of ['ssh', '^id$', 'k', 'straße', 'ff', '^σας', 'ς$', 'i']) {
      const engine = compileRe2Reference(p);
      for (const t of texts) expect(compileRegex(p, true)(t), `${p} on ${t}`).toBe(engine.test(t));
    }
  });

  it.each([
    ['(a)x\\1', 'a backreference (\\1)'],
    ['(?<n>a)\\k<n>', 'a backreference (\\k<…>)'],
    ['foo(?=bar)', 'lookaround ((?=)'],
    ['(?<!foo)bar', 'lookaround ((?<!)'],
  ])('refuses %s at load, naming %s', (p, what) => {
    expect(checkRegex(p)).toEqual({
      ok: false,
      reason: `regex '${p}' uses ${what}, which the linear-time engine cannot run; rewrite it without`,
    });
  });

  it('accepts escaped lookalikes of those constructs', () => {
    expect(checkRegex('\\(\\?=').ok).toBe(true);
    expect(checkRegex('[(?=]x').ok).toBe(true);
  });

  it('refuses text that is not a regex', () => {
    expect(checkRegex('(abc').reason).toMatch(/^invalid regex '\(abc': missing closing \)/);
    expect(checkRegex('x'.repeat(1001)).reason).toBe('regex is longer than 1000 characters');
  });
});

describe('wildcards', () => {
  it.each([
    ['Create*', 'CreateTopic', true],
    ['Create*', 'xCreateTopic', false],
    ['*Topic', 'CreateTopic', true],
    ['Get?', 'Gets', true],
    ['Get?', 'Get', false],
    ['Get?', 'Getss', false],
    ['*a*b*c*', 'xxaxxbxxc', true],
    ['*a*b*c*', 'xxaxxcxxb', false],
    ['a*b', 'ab', true],
    ['ab*ba', 'aba', false],
    ['*\\*\\*.exe', 'c:\\temp\\**.exe', true],
    ['*\\*\\*.exe', 'c:\\temp\\*.exe', false],
    ['a\\?c', 'a?c', true],
    ['a\\?c', 'abc', false],
    ['*?x?*', 'zzaxb', true],
    ['*?x?*', 'xb', false],
    ['**', '', true],
  ])('%s on %s gives %s', (glob, text, want) => {
    expect(compileGlob(glob, false)(text)).toBe(want);
  });

  it('ignores case when asked', () => {
    expect(compileGlob('delete*', true)('DeleteTrail')).toBe(true);
    expect(compileGlob('delete*', false)('DeleteTrail')).toBe(false);
  });

  it('completes on text built to defeat backtracking', () => {
    const glob = `${'*a'.repeat(30)}*b`;
    expect(compileGlob(glob, false)('a'.repeat(65_536))).toBe(false);
    expect(compileGlob('*\\*\\*.exe', false)(`${'\\*'.repeat(30_000)}x`)).toBe(false);
  }, 60_000);
});
