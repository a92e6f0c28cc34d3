import cliProgress from 'cli-progress';

/** What a long batch reports while it runs. */
export interface ProgressState {
  done: number;
  /** Grows while the listing is still being counted. */
  total: number;
  failed: number;
}

export interface Progress {
  update(state: ProgressState): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Plain output: at most one line per this many ms (a log file needs no redraws). */
  intervalMs?: number;
  label?: string;
}

/**
 * A live bar (cli-progress) when the stream is a terminal, otherwise a plain line now and then, so logs of a
 * batch run under cron or CI stay readable. Both show done/total, rate, ETA and failures.
 */
export function createProgress(stream: NodeJS.WriteStream, options: ProgressOptions = {}): Progress {
  const label = options.label ?? 'progress';
  const started = Date.now();
  const rateOf = (done: number) => done / Math.max((Date.now() - started) / 1000, 0.001);
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({
      stream,
      format: `${label} {bar} {value}/{total} | {rate}/s | ETA {eta_formatted} | failed {failed}`,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    }, cliProgress.Presets.shades_classic);
    bar.start(0, 0, { rate: '0.0', failed: 0 });
    return {
      update(s) {
        bar.setTotal(s.total);
        bar.update(s.done, { rate: rateOf(s.done).toFixed(1), failed: s.failed });
      },
      stop: () => bar.stop(),
    };
  }
  const intervalMs = options.intervalMs ?? 10_000;
  let last = started;
  return {
    update(s) {
      const now = Date.now();
      if (now - last < intervalMs) return;
      last = now;
      const rate = rateOf(s.done);
      const eta = rate > 0 ? `${Math.ceil((s.total - s.done) / rate)}s` : '?';
      stream.write(`${label}: ${s.done}/${s.total} done, ${rate.toFixed(1)}/s, ETA ${eta}, ${s.failed} failed\n`);
    },
    stop() { /* the caller prints the summary */ },
  };
}
