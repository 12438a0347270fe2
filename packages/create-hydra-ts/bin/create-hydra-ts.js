#!/usr/bin/env node
// Committed launcher: npm links bins at install time, before the TypeScript build exists.
require('../dist/src/main.js');
