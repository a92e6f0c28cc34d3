/**
 * The workloads: the same source, size and encoder settings for every contender. The qualities are the
 * server's defaults (src/ops/defaults.ts), passed to ipx explicitly; the harness prints output sizes of every
 * contender, so that a mismatch shows.
 */
import { DEFAULT_QUALITY } from '../src/ops/defaults.js';

export type Kind = 'miss' | 'hit' | 'revalidate';
export type Format = 'jpeg' | 'webp' | 'avif';

export interface Transform {
  width: number;
  height: number;
  fit: 'inside' | 'cover';
  format: Format;
}

export interface Workload {
  id: string;
  title: string;
  kind: Kind;
  /** File name in the bench source folder. */
  source: string;
  /** What the path asks for: the bare loop's job; on the hit workloads, how the nginx file is made when our server did not run. */
  transform: Transform;
  /** Path on our server. */
  ours: string;
  /** Path on the ipx peer (undefined: not comparable). */
  ipx?: string;
  /** Path on the GraphicsMagick peer (undefined: gm cannot write that format). */
  gm?: string;
}

export const SOURCES = {
  'kleiber.jpg': 'test/fixtures/photos/Kleiber_by_Lukas_Baubkus.jpg',
  'seeding.jpg': 'test/fixtures/photos/seeding_by_Clements_Engelhardt.jpg',
  'dice.png': 'test/fixtures/png/dice.png',
} as const;

const Q: Record<Format, number> = DEFAULT_QUALITY;

function miss(id: string, title: string, source: string, t: Transform, oursSegment: string, gm = true): Workload {
  const ipx = `/s_${t.width}x${t.height},fit_${t.fit},f_${t.format},q_${Q[t.format]}/${source}`;
  const gmPath = `/${t.width}x${t.height}${t.fit === 'cover' ? ',cover' : ''},${t.format}/${source}`;
  return { id, title, kind: 'miss', source, transform: t, ours: `/${oursSegment}/${source}`, ipx, gm: gm ? gmPath : undefined };
}

export const WORKLOADS: Workload[] = [
  miss('jpeg500', 'Kleiber 20 MP JPEG → fit 500 px JPEG', 'kleiber.jpg', { width: 500, height: 500, fit: 'inside', format: 'jpeg' }, '500x500'),
  miss('webp-cover', 'Kleiber 20 MP JPEG → 400×300 cover WebP', 'kleiber.jpg', { width: 400, height: 300, fit: 'cover', format: 'webp' }, '400x300,cover,webp'),
  miss('progressive', 'seeding 16 MP progressive JPEG → 400×300 cover WebP', 'seeding.jpg', { width: 400, height: 300, fit: 'cover', format: 'webp' }, '400x300,cover,webp'),
  miss('png-alpha', 'dice.png (alpha) → fit 300 px WebP', 'dice.png', { width: 300, height: 300, fit: 'inside', format: 'webp' }, '300x300,webp'),
  miss('avif400', 'Kleiber 20 MP JPEG → fit 400 px AVIF', 'kleiber.jpg', { width: 400, height: 400, fit: 'inside', format: 'avif' }, '400x400,avif', false),
  {
    id: 'hit', title: 'cache hit: Kleiber fit 400 px JPEG derivative', kind: 'hit', source: 'kleiber.jpg',
    transform: { width: 400, height: 400, fit: 'inside', format: 'jpeg' }, ours: '/400x400/kleiber.jpg',
  },
  {
    id: 'revalidate', title: '304 revalidation (If-None-Match) of that derivative', kind: 'revalidate', source: 'kleiber.jpg',
    transform: { width: 400, height: 400, fit: 'inside', format: 'jpeg' }, ours: '/400x400/kleiber.jpg',
  },
];
