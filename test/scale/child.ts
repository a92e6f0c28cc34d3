// `resizer` run from source, so the scale test needs no build step.
import { main } from '../../src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err: unknown) => { console.error(err); process.exitCode = 1; },
);
