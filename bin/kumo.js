#!/usr/bin/env node
// The `kumo` executable. The TypeScript sources are compiled to dist/ by `npm install` (the `prepare` script).
import { main } from '../dist/src/cli/index.js';

main(process.argv).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`kumo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
