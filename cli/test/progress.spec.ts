import { describe, expect, it } from 'vitest';
import type { CliIo } from '../src/io';
import { Progress } from '../src/progress';

function fakeIo(tty: boolean): CliIo & { err: string[]; out: string[] } {
  const err: string[] = [];
  const out: string[] = [];
  return { err, out, stdout: (t) => out.push(t), stderr: (t) => err.push(t), stderrIsTty: tty, cwd: '.' };
}

describe('progress line', () => {
  it('appears on a terminal after a second and a half, with an ETA extrapolated from the elapsed time', () => {
    let t = 0;
    const io = fakeIo(true);
    const p = new Progress(io, 'kvplan capacity', { now: () => t });
    t = 1000;
    p.update(0.1);
    expect(io.err).toEqual([]); // a short run stays quiet
    t = 4000;
    p.update(0.25, 'probe 3');
    expect(io.err.at(-1)).toMatch(/kvplan capacity \[#####\.{15}\] 25 %, 4 s elapsed, ETA 12 s  probe 3$/);
    p.done();
    expect(io.err.at(-1)).toBe('\r\x1b[2K');
    expect(io.out).toEqual([]);
  });

  it('says nothing when stderr is not a terminal or with --json', () => {
    let t = 0;
    for (const [tty, json] of [
      [false, false],
      [true, true],
    ]) {
      const io = fakeIo(tty);
      const p = new Progress(io, 'x', { json, now: () => t });
      t += 10_000;
      p.update(0.5);
      p.done();
      expect(io.err).toEqual([]);
    }
  });
});
