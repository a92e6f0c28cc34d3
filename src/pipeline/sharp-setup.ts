import sharp from 'sharp';

/**
 * sharp for a long-running service: libvips' operation cache is useless behind a derivative cache and only
 * holds memory; libvips threads per image are sized so that `transforms` images at once fill the cores,
 * not oversubscribe them.
 */
export function configureSharp(opts: { transforms: number; cores: number }): void {
  sharp.cache(false);
  sharp.concurrency(Math.max(1, Math.floor(opts.cores / opts.transforms)));
}
