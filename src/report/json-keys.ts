// One key style for every JSON document mam prints or writes as a report (README, "JSON
// output"): snake_case. The library's types use camelCase, as TypeScript does; the conversion
// happens once, where the JSON leaves: the CLI's --json, paper.json. Run files that mam reads
// back (mam.json, sweep.json) keep their own versioned formats.

/** Keys that are camelCase identifiers become snake_case; other keys (names, paths, versions) and all values stay. */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [
    /^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+$/.test(k) ? k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : k,
    snakeKeys(v),
  ]));
}

