// Writing C: float32 literals that read back to the same bits, const arrays, identifiers.

/** A float32 as a C literal that reads back to the same bits. */
export function cFloat(v: number): string {
  if (Number.isNaN(v) || !Number.isFinite(v)) throw new RangeError(`cannot write ${v} as a C float`);
  if (Object.is(v, -0)) return '-0.0f';
  let s = String(Math.fround(v));
  // Shortest double repr of a float32 value round-trips through strtof; C needs a '.' or 'e'.
  if (!/[.e]/.test(s)) s += '.0';
  return `${s}f`;
}

/** A static const C array of `values`, eight to a line. */
export function cArray(type: string, name: string, values: ArrayLike<number>, format: (v: number) => string): string {
  const items: string[] = [];
  for (let i = 0; i < values.length; i++) items.push(format(values[i]!));
  const lines: string[] = [];
  for (let i = 0; i < items.length; i += 8) lines.push(`  ${items.slice(i, i + 8).join(', ')}`);
  return `static const ${type} ${name}[${Math.max(values.length, 1)}] = {\n${lines.join(',\n') || '  0'}\n};\n`;
}

/** A layer name as part of a C identifier. */
export function ident(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}
