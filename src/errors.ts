// The errors meant for users, and the messages they carry.
//
// The library is used without the CLI, so its messages name settings as the library's API
// spells them (sparsity, mamLayers, out, source.records), never as flags. A message that
// names a setting is written with `msg`, a setting as {field} in its literal text:
//
//     throw new RequestError(msg`{sparsity} ${target}: give a fraction in [0, 1)`);
//
// err.message reads "sparsity 1: give a fraction in [0, 1)"; the CLI renders err.text with its
// own flag for each field ("--sparsity 1: give a fraction in [0, 1)", see src/cli/run.ts).

/** A setting named in a message: a field name as the library's API spells it ('sparsity', 'source.records'). */
export interface Setting {
  readonly setting: string;
}

/** A message as text and settings, so that each reader can spell the settings its own way. */
export class Message {
  constructor(readonly parts: ReadonlyArray<string | Setting>) {}

  /** The text, each setting spelled by `spell` (by default by its field name). */
  render(spell: (field: string) => string = (field) => field): string {
    return this.parts.map((p) => (typeof p === 'string' ? p : spell(p.setting))).join('');
  }
}

/** {field} in a msg`` template's literal text: a name, or a dotted path of names. */
const FIELD = /\{([a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)*)\}/g;

/**
 * A Message from a template literal. In its literal text, {field} names a setting. Interpolated
 * values are text, never read for braces (a path or an OS error cannot turn into a setting),
 * except a Message, whose settings carry over: a fix passed in, another error's err.text, or
 * setting(name) for a setting whose name is only known at run time.
 */
export function msg(strings: TemplateStringsArray, ...values: unknown[]): Message {
  const parts: Array<string | Setting> = [];
  strings.forEach((literal, i) => {
    let at = 0;
    for (const m of literal.matchAll(FIELD)) {
      parts.push(literal.slice(at, m.index), { setting: m[1]! });
      at = m.index + m[0].length;
    }
    parts.push(literal.slice(at));
    if (i < values.length) {
      const value = values[i];
      if (value instanceof Message) parts.push(...value.parts);
      else parts.push(String(value));
    }
  });
  return new Message(parts.filter((p) => p !== ''));
}

/** The setting `field` as a Message, to interpolate into msg`` when the name is computed. */
export function setting(field: string): Message {
  return new Message([{ setting: field }]);
}

/**
 * A user-facing error: the message is one line that names the file or place at fault and the
 * fix. The CLI prints it as `mam: <message>` (exit 1; 2 for a RequestError) with no stack;
 * anything that is not a MamError is treated as a bug (exit 70).
 */
export class MamError extends Error {
  override name = 'MamError';
  /** The file the error is about, when there is one. */
  readonly file?: string;
  /** The message with the settings it names kept apart: `message` is text.render(). */
  readonly text: Message;

  constructor(message: string | Message, options?: { file?: string; cause?: unknown }) {
    const text = typeof message === 'string' ? new Message([message]) : message;
    super(text.render(), options?.cause === undefined ? undefined : { cause: options.cause });
    this.text = text;
    if (options?.file !== undefined) this.file = options.file;
  }
}

/** First line of an error's message: require() errors append a multi-line "Require stack". */
export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n', 1)[0]!.trim();
}

/**
 * A request the library cannot carry out as given: a setting out of range, naming something
 * that does not exist, or not fitting the network, model or directory it applies to. The fix is
 * another value for the settings it names. (A file or data at fault is a plain MamError, even
 * when its fix names a setting.) The CLI exits with 2, as for a bad option.
 */
export class RequestError extends MamError {
  override name = 'RequestError';
}

/**
 * A command line that cannot work as given (a bad option value, options that exclude each
 * other): a RequestError written by the CLI, in its own terms, so it exits with 2 too.
 */
export class UsageError extends RequestError {
  override name = 'UsageError';
}
