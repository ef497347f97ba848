/**
 * A small RFC 4180 CSV reader and writer. Fields may be quoted; inside quotes, commas, CR/LF and
 * doubled quotes ("") are literal. Records end at LF, CRLF or a lone CR. A leading UTF-8 BOM is
 * skipped. Written for speed on million-row traces: one pass over the text, unquoted fields are
 * plain slices, and the fields array is reused between records.
 */

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

export interface CsvProblem {
  /** 1-based line where the problem starts. */
  line: number;
  message: string;
}

/**
 * Calls `onRecord(fields, count, line)` for each record (`line`: the 1-based line on which the
 * record starts). Only the first `count` entries of `fields` belong to the record; the array is
 * reused, so copy what you keep. Blank lines are skipped. Returning `false` stops the scan.
 * Malformed quoting is reported through `onProblem` and the record is still delivered with
 * what could be read.
 */
export function forEachCsvRecord(
  text: string,
  onRecord: (fields: string[], count: number, line: number) => boolean | void,
  onProblem: (p: CsvProblem) => void,
): void {
  const len = text.length;
  let i = len > 0 && text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const fields: string[] = [];
  while (i < len) {
    const recLine = line;
    let nf = 0;
    for (;;) {
      let value: string;
      if (i < len && text.charCodeAt(i) === QUOTE) {
        const openLine = line;
        i++;
        value = '';
        let start = i;
        let closed = false;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) {
            line += countNewlines(text, start, len);
            value += text.slice(start, len);
            i = len;
            break;
          }
          line += countNewlines(text, start, q);
          value += text.slice(start, q);
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += '"';
            i = q + 2;
            start = i;
            continue;
          }
          i = q + 1;
          closed = true;
          break;
        }
        if (!closed) {
          onProblem({
            line: openLine,
            message: 'unterminated quoted field (a " opened here is never closed)',
          });
        } else if (i < len) {
          const c = text.charCodeAt(i);
          if (c !== COMMA && c !== LF && c !== CR) {
            onProblem({
              line,
              message: 'unexpected text after a closing quote (quote the whole field, double inner quotes)',
            });
            const start2 = i;
            while (i < len) {
              const d = text.charCodeAt(i);
              if (d === COMMA || d === LF || d === CR) break;
              i++;
            }
            value += text.slice(start2, i);
          }
        }
      } else {
        const start = i;
        while (i < len) {
          const c = text.charCodeAt(i);
          if (c === COMMA || c === LF || c === CR) break;
          i++;
        }
        value = text.slice(start, i);
      }
      fields[nf++] = value;
      if (i >= len) break;
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        i++;
        if (i >= len) fields[nf++] = '';
        else continue;
        break;
      }
      // End of record: LF, CRLF or CR.
      i++;
      if (c === CR && i < len && text.charCodeAt(i) === LF) i++;
      line++;
      break;
    }
    if (nf === 1 && fields[0] === '') continue;
    if (onRecord(fields, nf, recLine) === false) return;
  }
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c === LF) n++;
    else if (c === CR && text.charCodeAt(k + 1) !== LF) n++;
  }
  return n;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field, quoted only when it must be. */
export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
