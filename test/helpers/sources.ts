import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FIXTURES } from './server.js';

/** A fresh source folder holding copies of the named fixtures at the given keys. */
export async function sourceDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'resizer-src-'));
  for (const [key, fixture] of Object.entries(files)) {
    await mkdir(dirname(join(dir, key)), { recursive: true });
    await copyFile(join(FIXTURES, fixture), join(dir, key));
  }
  return dir;
}
