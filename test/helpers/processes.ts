/** Child processes of the cross-package tests: started and ended by @hydra-ts/testing. */
import { join } from 'node:path';

/** The repository root, from test/dist/helpers. */
export const ROOT = join(__dirname, '..', '..', '..');

export { startProcess, stopProcess, stopAllProcesses, freePort } from '@hydra-ts/testing';
