/**
 * What an export holds, without the page: CSV text, a data URL's bytes, a file name. Pure, so it
 * is unit-tested in Node (export.ts puts it on the page).
 */
/** One CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180). */
function csvField(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text from headers and rows, CRLF line ends. */
export function toCsv(headers: string[], rows: Array<Array<string | number | null>>): string {
  return [headers, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** A PNG data URL as bytes (decoded here: the page's CSP lets no fetch read a data: URL). */
export function dataUrlBlob(url: string): Blob {
  const [head, body] = url.split(',', 2);
  const type = /^data:([^;,]+)/.exec(head)?.[1] ?? 'application/octet-stream';
  const bin = atob(body);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type });
}

/** A file name from a label: lower case, dashes for anything else. */
export function fileStem(label: string): string {
  return (
    label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60) || 'export'
  );
}
