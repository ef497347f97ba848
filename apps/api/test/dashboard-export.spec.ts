// The dashboard's exports: CSV text and a chart's PNG data URL turned into bytes.
import { describe, expect, it } from 'vitest';
import { dataUrlBlob, fileStem, toCsv } from '../dashboard/src/export-files';

describe('dashboard exports', () => {
  it('writes CSV with quoted fields where a comma, quote or line break needs it', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['x, y', 'say "hi"'],
          [1.5, null],
          ['two\nlines', ''],
        ],
      ),
    ).toBe('a,b\r\n"x, y","say ""hi"""\r\n1.5,\r\n"two\nlines",\r\n');
  });

  it('decodes a data URL to the bytes it carries, with its type', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255]);
    const blob = dataUrlBlob(`data:image/png;base64,${png.toString('base64')}`);
    expect(blob.type).toBe('image/png');
    expect(Buffer.from(await blob.arrayBuffer())).toEqual(png);
  });

  it('names files from labels', () => {
    expect(fileStem('accuracy:top8-attention-overlap')).toBe('accuracy-top8-attention-overlap');
    expect(fileStem('***')).toBe('export');
  });
});
