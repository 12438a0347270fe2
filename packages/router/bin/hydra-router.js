#!/usr/bin/env -S node --max-semi-space-size=4 --optimize-for-size
// Committed launcher: npm links bins at install time, before the TypeScript build exists.
// The flags trade a little CPU for memory (see src/main.ts).
require('../dist/src/main.js');
