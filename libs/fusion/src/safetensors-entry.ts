import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes a safetensors file: the header's length, the header as JSON padded to 8 bytes, then the
 * bytes `body` puts, in the order of the header's data_offsets. Written to a temporary file
 * renamed into place, so a failure (an error thrown by `body` included) leaves no partial file.
 */
export function writeSafetensorsFile(
  file: string,
  header: Record<string, unknown>,
  body: (put: (bytes: Uint8Array) => void) => void,
): void {
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.partial`);
  const fd = fs.openSync(tmp, 'w');
  try {
    let pos = 0;
    const put = (b: Uint8Array): void => {
      let done = 0;
      while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done, pos + done);
      pos += b.length;
    };
    put(len);
    put(headerBytes);
    body(put);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
