import { cpSync, linkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SOURCES } from '../workloads.js';

/**
 * Cache busting for miss cells: each bench source copied into `dir`, plus `links` hard links of it (b0/kleiber.jpg,
 * b1/…), so that every request of a cell names a different derivative and no two concurrent requests share one
 * transform (our server's single-flight would otherwise collapse them). Hard links: one file in the page cache.
 */
export function linkedSources(dir: string, links: number): void {
  for (const [name, path] of Object.entries(SOURCES)) {
    cpSync(path, join(dir, name));
    for (let i = 0; i < links; i++) {
      mkdirSync(join(dir, `b${i}`), { recursive: true });
      linkSync(join(dir, name), join(dir, `b${i}`, name));
    }
  }
}
