// A value as one CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
