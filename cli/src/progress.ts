import type { CliIo } from './io';

/** Seconds a run must take before its progress line appears. */
const SHOW_AFTER_S = 1.5;

/**
 * One progress line with an ETA on stderr, redrawn in place: only when stderr is a terminal,
 * never with `--json`, and only once the run has taken more than a second and a half (short runs
 * stay quiet). `update(fraction)` with the fraction of the work done; the ETA extrapolates the
 * elapsed time linearly.
 */
export class Progress {
  private readonly start: number;
  private shown = false;
  private lastDraw = -Infinity;
  private readonly enabled: boolean;
  private readonly now: () => number;

  constructor(
    private readonly io: CliIo,
    private readonly label: string,
    opts: { json?: boolean; now?: () => number } = {},
  ) {
    this.enabled = io.stderrIsTty && !opts.json;
    this.now = opts.now ?? Date.now;
    this.start = this.now();
  }

  update(fraction: number, detail = ''): void {
    if (!this.enabled) return;
    const now = this.now();
    const elapsed = (now - this.start) / 1000;
    if (elapsed < SHOW_AFTER_S || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const frac = Math.min(Math.max(fraction, 0), 1);
    const eta = frac > 0 ? (elapsed * (1 - frac)) / frac : NaN;
    const bar = '#'.repeat(Math.round(frac * 20)).padEnd(20, '.');
    const text =
      `${this.label} [${bar}] ${(frac * 100).toFixed(0)} %, ${formatS(elapsed)} elapsed, ` +
      `ETA ${Number.isFinite(eta) ? formatS(eta) : '?'}${detail ? `  ${detail}` : ''}`;
    this.io.stderr(`\r\x1b[2K${text}`);
    this.shown = true;
  }

  /** Clears the line. */
  done(): void {
    if (this.shown) this.io.stderr('\r\x1b[2K');
    this.shown = false;
  }
}

function formatS(s: number): string {
  if (s < 60) return `${s.toFixed(0)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}
