import type { Command } from 'commander';
import { ECGSYN_DEFAULTS, generateEcg, resolveEcgsynOptions, type EcgsynOptions } from '../../data/ecgsyn.js';
import { MamError, UsageError } from '../../errors.js';
import { numberOption, rangeOption } from '../options.js';
import { action, printJson } from '../run.js';
import { writeOutput } from '../write.js';

interface SynthOpts {
  seconds: string;
  seed: string;
  fs: string;
  hr?: string;
  hrRange: string;
  hrStd: string;
  lfHf: string;
  wander: string;
  noiseSnr?: string;
  out?: string;
  json?: boolean;
}

// The library's option names as this command spells them, so its errors name the flag.
const FLAGS: Partial<Record<keyof EcgsynOptions, string>> = {
  fs: '--fs',
  seconds: '--seconds',
  seed: '--seed',
  hrMean: '--hr',
  hrRange: '--hr-range',
  hrStd: '--hr-std',
  lfHfRatio: '--lf-hf',
  wanderMv: '--wander',
  noiseSnrDb: '--noise-snr',
};

export function register(program: Command): void {
  const d = ECGSYN_DEFAULTS;
  program
    .command('synth')
    .description('write a synthetic ECG (ECGSYN, McSharry et al. 2003) as CSV: time_s,ECG (mV, 5 decimals)')
    .option('--seconds <s>', 'duration in seconds', String(d.seconds))
    .option('--seed <n>', 'random seed: the same seed gives the same trace', String(d.seed))
    .option('--fs <hz>', 'sampling rate in Hz', String(d.fs))
    .option('--hr <bpm>', 'mean heart rate in bpm (default: drawn from --hr-range)')
    .option('--hr-range <lo,hi>', 'draw the mean heart rate uniformly from LO..HI bpm', d.hrRange.join(','))
    .option('--hr-std <bpm>', 'heart-rate standard deviation in bpm', String(d.hrStd))
    .option('--lf-hf <ratio>', 'LF/HF power ratio of the RR variability (0.1 vs 0.25 Hz)', String(d.lfHfRatio))
    .option('--wander <mV>', 'baseline wander amplitude at 0.25 Hz in mV, 0 for none', String(d.wanderMv))
    .option('--noise-snr <dB>', 'add white Gaussian noise at this SNR in dB (default: none)')
    .option('--out <file>', 'CSV file to write, - for stdout (required)')
    .option('--json', 'print a summary as one JSON object on stdout (samples, seconds, fs, hr_mean, beats, noise_sigma, out)')
    .action(
      action(async (opts: SynthOpts, cmd: Command) => {
        if (opts.out === undefined || opts.out === '') {
          throw new UsageError('synth needs --out FILE (the CSV to write), or --out - for stdout');
        }
        if (opts.out === '-' && opts.json) throw new UsageError('--out - writes the CSV to stdout, where --json would print its summary: drop one of them');
        if (opts.hr !== undefined && cmd.getOptionValueSource('hrRange') === 'cli') {
          throw new UsageError('synth: give either --hr (a fixed mean heart rate) or --hr-range LO,HI, not both');
        }
        const options: EcgsynOptions = {
          seconds: numberOption('--seconds', opts.seconds, '60'),
          seed: numberOption('--seed', opts.seed, '1'),
          fs: numberOption('--fs', opts.fs, '256'),
          hrStd: numberOption('--hr-std', opts.hrStd, '1'),
          lfHfRatio: numberOption('--lf-hf', opts.lfHf, '0.5'),
          wanderMv: numberOption('--wander', opts.wander, '0.07'),
        };
        if (opts.hr !== undefined) options.hrMean = numberOption('--hr', opts.hr, '72');
        else options.hrRange = rangeOption('--hr-range', opts.hrRange, '60,100');
        if (opts.noiseSnr !== undefined) options.noiseSnrDb = numberOption('--noise-snr', opts.noiseSnr, '35');
        try {
          resolveEcgsynOptions(options, FLAGS); // every range check, naming our flags
        } catch (e) {
          throw e instanceof MamError ? new UsageError(e.message) : e; // a value out of range is a bad option
        }

        const trace = generateEcg(options);
        const csv = ecgCsv(trace.signal, trace.fs);
        await writeOutput(opts.out, csv, '--out');
        const n = trace.signal.length;
        process.stderr.write(
          `synth: ${n} samples (${+(n / trace.fs).toFixed(3)} s at ${trace.fs} Hz), mean HR ${trace.hrMean.toFixed(1)} bpm, ` +
            `${trace.rPeaks.length} beats${trace.noiseSigma > 0 ? `, noise sigma ${trace.noiseSigma.toPrecision(3)} mV` : ''}` +
            `${opts.out === '-' ? '' : ` -> ${opts.out}`}\n`,
        );
        if (opts.json) {
          printJson({ samples: n, seconds: n / trace.fs, fs: trace.fs, hrMean: trace.hrMean, beats: trace.rPeaks.length, noiseSigma: trace.noiseSigma, out: opts.out });
        }
      }, { tfjs: false }),
    );
}

/**
 * Header time_s,ECG, one row per sample. time_s = row / fs with the fewest decimals that make
 * it exact (8 at 256 Hz, 3 at 250 or 500 Hz), or 6 when 1/fs has no short decimal form (360 Hz).
 * ECG in mV with 5 decimals (10 nV: far below any ECG's noise).
 */
export function ecgCsv(signal: ArrayLike<number>, fs: number): string[] {
  const dec = timeDecimals(fs);
  const chunks: string[] = ['time_s,ECG\n'];
  const CHUNK = 65536;
  for (let start = 0; start < signal.length; start += CHUNK) {
    const rows: string[] = [];
    for (let i = start; i < Math.min(signal.length, start + CHUNK); i++) {
      let v = signal[i]!.toFixed(5);
      if (v === '-0.00000') v = '0.00000';
      rows.push(`${(i / fs).toFixed(dec)},${v}`);
    }
    chunks.push(rows.join('\n') + '\n');
  }
  return chunks;
}

function timeDecimals(fs: number): number {
  if (Number.isInteger(fs)) for (let d = 0; d <= 9; d++) if (10 ** d % fs === 0) return d;
  return 6;
}

