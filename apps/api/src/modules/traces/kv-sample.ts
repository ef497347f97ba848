import * as fs from 'node:fs';
import { positionedSource, readKvHeader } from '@kvplan/core';

/**
 * Checks an uploaded `kvplan-kv/1` file with the one header validator of libs/core (the fusion job
 * reads it with the same, so an accepted upload never fails there on its header). Tensor data is
 * not read here. Returns `__metadata__`; throws an InputError naming every issue under `kv-sample`.
 */
export function readKvSampleHeader(file: string): Record<string, string> {
  const fd = fs.openSync(file, 'r');
  try {
    const src = positionedSource(fs.fstatSync(fd).size, (into, offset, length, position) =>
      fs.readSync(fd, into, offset, length, position),
    );
    return readKvHeader(src, null, (part) => (part ? `kv-sample.${part}` : 'kv-sample')).metadata;
  } finally {
    fs.closeSync(fd);
  }
}
