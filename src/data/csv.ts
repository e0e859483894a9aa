// ECG recordings from CSV files: one row per sample, one column per lead, optionally a time
// column first. Without options it accepts tab, semicolon or comma delimiters (a decimal comma
// with the first two), a UTF-8 BOM, CRLF or LF, blank lines, quoted names and cells, a header
// or none; it takes the rate from a time column in s or ms, or from options.fs.
//
// The reader is in ./csv/, one file per part, each opening with the rules it applies:
//   reader.ts         readEcgCsv, readEcgFiles: options, ADC counts, the two passes over the file
//   sniff.ts          text or not, the BOM, the first line, the delimiter
//   header.ts         header or not, column names, the time column, options.lead
//   row-parser.ts     the data lines: a byte-level fast path, csv-parse for the rest
//   sampling-rate.ts  the time column's checks, and fs from it or from options.fs
//   files.ts          expandCsvPaths (stat, open and read errors: ../files.ts, shared with WFDB)
//   text.ts           what the header and the row parser share: number patterns, cleanName
//   types.ts          CsvReadOptions, CsvRecord and the other shapes
export { expandCsvPaths } from './csv/files.js';
export { readEcgCsv, readEcgFiles } from './csv/reader.js';
export { cleanName } from './csv/text.js';
export type { CsvReadOptions, CsvRecord, TimeUnit } from './csv/types.js';
