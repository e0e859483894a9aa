// Option parsing shared by the commands: numbers that say which flag is wrong and how to fix
// it, and the CSV data options that data info, train and eval all take.
import type { Command } from 'commander';
import type { RecordingReadOptions } from '../data/recordings.js';
import { UsageError } from '../errors.js';
import { QUANTIZATIONS, type QuantizeRequest } from '../quantize/model.js';
import { WEIGHT_SCALES } from '../quantize/quantize.js';

/** The long names (--lr, ...) of the options given on the command line whose attribute names `accept` takes. */
export function givenOnCommandLine(command: Command, accept: (attribute: string) => boolean): string[] {
  return command.options
    .filter((o) => accept(o.attributeName()) && command.getOptionValueSource(o.attributeName()) === 'cli')
    .map((o) => o.long ?? o.flags);
}

/** A number option, or a one-line UsageError naming it (Number('') is 0, so blanks are refused too). */
export function numberOption(flag: string, raw: string, example: string): number {
  const v = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(v)) throw new UsageError(`${flag} must be a number, got "${raw}"; e.g. ${flag} ${example}`);
  return v;
}

/** numberOption for an optional flag. */
export function optionalNumber(flag: string, raw: string | undefined, example: string): number | undefined {
  return raw === undefined ? undefined : numberOption(flag, raw, example);
}

/** A whole number >= min. */
export function intOption(flag: string, raw: string, example: string, min = 0): number {
  const v = numberOption(flag, raw, example);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`${flag} must be a whole number >= ${min}, got "${raw}"; e.g. ${flag} ${example}`);
  return v;
}

/** A number greater than 0. */
export function positiveOption(flag: string, raw: string, example: string): number {
  const v = numberOption(flag, raw, example);
  if (!(v > 0)) throw new UsageError(`${flag} must be greater than 0, got "${raw}"; e.g. ${flag} ${example}`);
  return v;
}

/** A seed: a whole number that fits 32 bits unsigned. */
export function seedOption(flag: string, raw: string): number {
  const v = intOption(flag, raw, '1');
  if (v > 0xffffffff) throw new UsageError(`${flag} must be a whole number from 0 to 4294967295, got "${raw}"; e.g. ${flag} 1`);
  return v;
}

/** Two numbers LO,HI. */
export function rangeOption(flag: string, raw: string, example: string): [number, number] {
  const parts = raw.split(',');
  if (parts.length !== 2) throw new UsageError(`${flag} must be two numbers LO,HI, got "${raw}"; e.g. ${flag} ${example}`);
  return [numberOption(flag, parts[0]!, example), numberOption(flag, parts[1]!, example)];
}

/** Whole numbers separated by commas ("512,512,256"); empty means none. */
export function sizesOption(flag: string, raw: string, example: string): number[] {
  if (raw.trim() === '') return [];
  return raw.split(',').map((p) => intOption(flag, p, example, 1));
}

/** One of a fixed set of words. */
export function choiceOption<T extends string>(flag: string, raw: string, choices: readonly T[]): T {
  if (!choices.includes(raw as T)) throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got "${raw}"`);
  return raw as T;
}

export interface CsvFlags { lead?: string; fs?: string; adcGain?: string; adcZero?: string; verify?: boolean }

/** Declares the recording options (--lead, --fs, --adc-gain, --adc-zero, --no-verify) on a command. */
export function addCsvOptions(cmd: Command): Command {
  return cmd
    .option('--lead <name|index>', 'lead to use: a name (any case) or a 0-based index among the signals (default: the first; in WFDB records the first in volts)')
    .option('--fs <hz>', 'sampling rate of the CSV files in Hz: needed without a time column in seconds or ms, and wins over one (WFDB headers state it)')
    .option('--adc-gain <counts>', 'CSV cells are ADC counts, this many per mV: mV = (value - zero) / gain (MIT-BIH: 200)')
    .option('--adc-zero <counts>', 'ADC count of 0 mV in CSV cells (MIT-BIH: 1024; default 0)')
    .option('--no-verify', "WFDB records: read signals whose samples disagree with the header's checksum, with a warning (default: an error)");
}

/** The readers' options from those flags (verify only when turned off, so CSV settings stay as they were). */
export function csvOptions(opts: CsvFlags): RecordingReadOptions {
  return {
    lead: opts.lead,
    fs: optionalNumber('--fs', opts.fs, '360'),
    adcGain: optionalNumber('--adc-gain', opts.adcGain, '200'),
    adcZero: optionalNumber('--adc-zero', opts.adcZero, '1024'),
    ...(opts.verify === false ? { verify: false } : {}),
  };
}

/** --annotations EXT: an annotation file's extension (atr, qrs, ...), letters and digits, a leading dot dropped. */
export function annotationExtension(raw: string): string {
  const ext = raw.replace(/^\./, '');
  if (!/^[A-Za-z0-9_]+$/.test(ext)) throw new UsageError(`--annotations takes the annotation file's extension (atr, qrs, ...), got "${raw}"; e.g. --annotations atr`);
  return ext;
}

/** Declares --threads (the training engine's threads) on a command that trains. */
export function addThreadsOption(cmd: Command, what = 'training threads'): Command {
  return cmd.option('--threads <n>', `${what} (default: the cores available); any number gives the same result bit for bit`);
}

/** The --threads value, or undefined when not given. */
export function threadsOption(raw: string | undefined): number | undefined {
  return raw === undefined ? undefined : intOption('--threads', raw, '2', 1);
}

export interface QuantizeFlags { quantize?: string; weightScales?: string }

/** Declares --quantize and --weight-scales (int8 post-training quantisation) on a command. */
export function addQuantizeOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--quantize <int8>', `${what} the int8 network (weights int8 per output neuron, activations int8 calibrated on the model's training windows, integer arithmetic)`)
    .option('--weight-scales <channel|layer>', 'with --quantize: one weight scale per output neuron (channel, the default) or per layer');
}

/** The quantisation asked for, or undefined for float. */
export function quantizeOptions(flags: QuantizeFlags): QuantizeRequest | undefined {
  if (flags.quantize === undefined) {
    if (flags.weightScales !== undefined) throw new UsageError('--weight-scales sets how --quantize int8 scales the weights: give --quantize int8 too');
    return undefined;
  }
  const quantize = choiceOption('--quantize', flags.quantize, QUANTIZATIONS);
  const weightScales = flags.weightScales === undefined ? undefined : choiceOption('--weight-scales', flags.weightScales, WEIGHT_SCALES);
  return { quantize, ...(weightScales ? { weightScales } : {}) };
}
