import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { Inject, Injectable, PayloadTooLargeException } from '@nestjs/common';
import type { ApiConfig } from '../../config/config';
import { API_CONFIG } from '../../infra/tokens';

/** Content types taken as a raw stream by the upload routes. */
export const STREAM_CONTENT_TYPES = [
  'text/csv',
  'application/x-ndjson',
  'application/jsonl',
  'application/octet-stream',
];

export interface StoredUpload {
  /** Path relative to the storage root. */
  relPath: string;
  absPath: string;
  sizeBytes: number;
  sha256: string;
}

/** Streams uploads onto the storage volume with a size limit and a checksum. */
@Injectable()
export class UploadsService {
  readonly root: string;

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {
    this.root = path.resolve(config.storageDir);
  }

  get limit(): number {
    return this.config.uploadLimitBytes;
  }

  /**
   * Writes the stream to `<kind>/<workspace>/<id><ext>` under a temporary name, then renames it.
   * Over the limit: the partial file is removed and 413 thrown, without reading the rest.
   */
  async store(
    stream: Readable,
    declaredLength: number | undefined,
    kind: string,
    workspaceId: string,
    ext: string,
  ): Promise<StoredUpload> {
    const limit = this.config.uploadLimitBytes;
    if (declaredLength !== undefined && declaredLength > limit) throw this.tooLarge();
    const relPath = path.posix.join(kind, workspaceId, `${randomUUID()}${ext}`);
    const absPath = path.join(this.root, relPath);
    fs.mkdirSync(path.dirname(absPath), { recursive: true });
    const tmp = `${absPath}.part`;
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > limit)
          return cb(new PayloadTooLargeException(`upload larger than the limit of ${limit} bytes`));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(stream, meter, fs.createWriteStream(tmp));
      fs.renameSync(tmp, absPath);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      stream.resume();
      throw err;
    }
    return { relPath, absPath, sizeBytes: size, sha256: hash.digest('hex') };
  }

  remove(relPath: string): void {
    const abs = path.resolve(this.root, relPath);
    if (abs.startsWith(this.root + path.sep)) fs.rmSync(abs, { force: true });
  }

  private tooLarge(): PayloadTooLargeException {
    return new PayloadTooLargeException(
      `upload larger than the limit of ${this.config.uploadLimitBytes} bytes`,
    );
  }
}
