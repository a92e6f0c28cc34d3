/** One encoding tried by the search. */
export interface Trial {
  quality: number;
  body: Buffer;
  ssim: number;
}

export interface SearchOptions {
  /** Encodes the image at a quality (1-100). */
  encode(quality: number): Promise<Buffer>;
  /** SSIM of an encoding against the image's lossless reference. */
  score(body: Buffer): Promise<number>;
  /** The SSIM to reach. */
  target: number;
  /** Quality range searched, inclusive. */
  min: number;
  max: number;
  /** Most encodes; bisection over 1-100 needs 7 for the exact answer, 5 lands within 3 of it. */
  maxEncodes: number;
  /** Awaited before each encode: lets the caller pace the search (background work yields to requests). */
  before?: () => Promise<void>;
}

/**
 * The fewest bytes that reach the target: bisection over quality (SSIM grows with quality, near enough), keeping
 * the smallest trial that passed. Null when none did, e.g. a target no quality in the range reaches.
 */
export async function searchQuality(o: SearchOptions): Promise<{ best: Trial | null; trials: Trial[] }> {
  let lo = o.min;
  let hi = o.max;
  let best: Trial | null = null;
  const trials: Trial[] = [];
  while (lo <= hi && trials.length < o.maxEncodes) {
    const quality = Math.floor((lo + hi) / 2);
    await o.before?.();
    const body = await o.encode(quality);
    const trial = { quality, body, ssim: await o.score(body) };
    trials.push(trial);
    if (trial.ssim >= o.target) {
      if (!best || body.length < best.body.length) best = trial;
      hi = quality - 1;
    } else {
      lo = quality + 1;
    }
  }
  return { best, trials };
}
