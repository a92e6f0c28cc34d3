import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FsDerivativeStore, FsSourceStore } from '../../src/storage/fs.js';
import { storeContract } from './contract.js';

storeContract('fs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'resizer-fs-contract-'));
  const sourceDir = join(root, 'sources');
  await mkdir(sourceDir);
  return {
    sources: new FsSourceStore(sourceDir),
    derivatives: new FsDerivativeStore(join(root, 'derivatives')),
    async putSource(key, body) {
      const path = join(sourceDir, key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body);
    },
    close: () => rm(root, { recursive: true, force: true }),
  };
});
