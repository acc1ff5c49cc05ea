import { describe, expect, it } from 'vitest';
import { UnsafeNameError } from './errors.js';
import { MAX_NAME_COMPONENT, safeNameComponent } from './names.js';

describe('safeNameComponent', () => {
  it('keeps ordinary dataset names as they are', () => {
    expect(safeNameComponent('aws.cloudtrail', 'dataset')).toBe('aws.cloudtrail');
    expect(safeNameComponent('duo.authentication', 'dataset')).toBe('duo.authentication');
    expect(safeNameComponent('app_audit-2', 'dataset')).toBe('app_audit-2');
  });

  it('turns separators and other characters into underscores, so a value stays one component', () => {
    expect(safeNameComponent('../../outside/x', 'dataset')).toBe('.._.._outside_x');
    expect(safeNameComponent('a\\b', 'dataset')).toBe('a_b');
    expect(safeNameComponent('a\u0000b\nc', 'dataset')).toBe('a_b_c');
    expect(safeNameComponent('ü/ß', 'dataset')).toBe('___');
  });

  it.each(['', '.', '..'])('refuses %j, naming what it was', (v) => {
    expect(() => safeNameComponent(v, 'dataset')).toThrow(UnsafeNameError);
    expect(() => safeNameComponent(v, 'dataset')).toThrow(/^dataset ".*" cannot be used as a name$/);
  });

  it('refuses a value too long for a file name, quoting only its start', () => {
    const long = 'a'.repeat(MAX_NAME_COMPONENT + 1);
    expect(() => safeNameComponent(long, 'dataset')).toThrow(/longer than 200/);
    expect(() => safeNameComponent(long, 'dataset')).not.toThrow(long);
    expect(safeNameComponent('a'.repeat(MAX_NAME_COMPONENT), 'dataset')).toHaveLength(MAX_NAME_COMPONENT);
  });
});
