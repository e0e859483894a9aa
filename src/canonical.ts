// JSON with object keys sorted, so two equal settings compare equal whatever their key order:
// how a resumed run checks that it is given what it was made with.
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v);
}
