#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=50
// Committed launcher: npm links bins at install time, before the TypeScript build exists.
// The flags trade a little CPU for memory (see src/main.ts).
require('../dist/src/main.js');
