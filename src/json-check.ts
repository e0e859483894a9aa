// Field-by-field checks of JSON that mam reads back (mam.json, sweep.json), so that a damaged or
// hand-edited file fails at the door with one line naming the file, the field and the fix,
// instead of as a TypeError deep inside training or pruning. Each check returns the value it was
// given, typed: objects are checked in place, not copied, so what is written back keeps its keys
// in order. No dependency: a few combinators, typed against the interfaces they check, so a field
// added to an interface does not compile until it has a check.
import { MamError, msg, type Message } from './errors.js';

/** Checks the value found at `path` and returns it typed, or throws a FieldError. */
export type Check<T> = (value: unknown, path: string) => T;

/** A field that is not what it should be; checkJson turns it into a MamError naming the file. */
class FieldError extends Error {}

/** `check`s a file's parsed JSON: a bad field throws `<file>: <field> is ..., not ...: <fix>`. */
export function checkJson<T>(value: unknown, check: Check<T>, file: string, fix: string | Message): T {
  try {
    return check(value, '');
  } catch (e) {
    if (e instanceof FieldError) throw new MamError(msg`${file}: ${e.message}: ${fix}`, { file });
    throw e;
  }
}

function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function fail(value: unknown, path: string, expected: string): never {
  const field = path || 'the file';
  throw new FieldError(value === undefined ? `${field} is missing (${expected})` : `${field} is ${shown(value)}, not ${expected}`);
}

export function is<T>(expected: string, test: (value: unknown) => boolean): Check<T> {
  return (value, path) => (test(value) ? value as T : fail(value, path, expected));
}

// JSON has no NaN or Infinity: a number read back is always finite.
export const number: Check<number> = is('a number', (v) => typeof v === 'number');
export const wholeNumber: Check<number> = is('a whole number', Number.isInteger);
export const string: Check<string> = is('a string', (v) => typeof v === 'string');
export const boolean: Check<boolean> = is('true or false', (v) => typeof v === 'boolean');
export const numberPair: Check<[number, number]> = is('two numbers', (v) => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number'));

/**
 * One of the keys of `values`: a record rather than a list, so that the compiler insists on
 * every member of T (oneOf<VconShape>({ linear: true, exponential: true })).
 */
export function oneOf<T extends string>(values: Record<T, true>): Check<T> {
  const names = Object.keys(values);
  return is(names.length === 1 ? JSON.stringify(names[0]) : `one of ${names.map((n) => JSON.stringify(n)).join(', ')}`,
    (v) => typeof v === 'string' && Object.hasOwn(values, v));
}

export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (value, path) => (value === undefined ? undefined : check(value, path));
}

/** A value, or null where the writer had none (or had NaN, which JSON writes as null). */
export function orNull<T>(check: Check<T>): Check<T | null> {
  return (value, path) => (value === null ? null : check(value, path));
}

export function listOf<T>(item: Check<T>): Check<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) fail(value, path, 'a list');
    value.forEach((v, i) => item(v, `${path}[${i}]`));
    return value as T[];
  };
}

function record(value: unknown, path: string): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : fail(value, path, 'an object');
}

/** An object whose fields are not checked: for a record that is kept and shown, never read back. */
export function unread<T extends object>(): Check<T> {
  return (value, path) => record(value, path) as T;
}

/** An object with a check for each of T's fields (optional ones too); other keys are left alone. */
export function object<T extends object>(fields: { [K in keyof Required<T>]: Check<T[K]> }): Check<T> {
  return (value, path) => {
    const r = record(value, path);
    for (const [key, check] of Object.entries(fields) as Array<[string, Check<unknown>]>) check(r[key], path ? `${path}.${key}` : key);
    return r as T;
  };
}

/** A tagged union: the field `tag` names the variant (oneOf its keys), whose check does the rest. */
export function tagged<T extends Record<K, string>, K extends string>(tag: K, variants: { [V in T[K]]: Check<Extract<T, Record<K, V>>> }): Check<T> {
  const which = oneOf(Object.fromEntries(Object.keys(variants).map((v) => [v, true])) as Record<T[K], true>);
  const checks: Record<string, Check<T>> = variants;
  return (value, path) => checks[which(record(value, path)[tag], path ? `${path}.${tag}` : tag)]!(value, path);
}
