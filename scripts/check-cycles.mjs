// npm test's import-cycle check: no cycle between files, and none between the folders of src/ (a folder is a
// module of the design: storage/ must not need derive/ if derive/ needs storage/). dpdm reads the imports.
import { parseCircular, parseDependencyTree } from 'dpdm';
import { dirname, relative } from 'node:path';

const tree = await parseDependencyTree('src/**/*.ts', { context: process.cwd(), transform: false, skipDynamicImports: false });
const problems = parseCircular(tree).map((cycle) => `files: ${cycle.join(' -> ')}`);

const folderOf = (file) => relative('src', dirname(file)) || '.';
const edges = new Map();
for (const [file, deps] of Object.entries(tree)) {
  if (!file.startsWith('src/')) continue;
  const from = folderOf(file);
  for (const dep of deps ?? []) {
    if (!dep.id?.startsWith('src/')) continue;
    const to = folderOf(dep.id);
    // src/app.ts and src/runtime.ts are the wiring at the top: they may import any folder, and no folder them.
    if (to !== from && from !== '.') (edges.get(from) ?? edges.set(from, new Set()).get(from)).add(to);
  }
}
const state = new Map();
function visit(folder, path) {
  if (state.get(folder) === 'done') return;
  if (state.get(folder) === 'open') {
    problems.push(`folders: ${[...path.slice(path.indexOf(folder)), folder].join(' -> ')}`);
    return;
  }
  state.set(folder, 'open');
  for (const next of edges.get(folder) ?? []) visit(next, [...path, folder]);
  state.set(folder, 'done');
}
for (const folder of edges.keys()) visit(folder, []);

if (problems.length) {
  console.error(`Import cycles:\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`No import cycles among ${Object.keys(tree).filter((f) => f.startsWith('src/')).length} files in ${edges.size} folders of src/.`);
