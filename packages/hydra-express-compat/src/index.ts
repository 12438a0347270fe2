/**
 * `require('hydra-express')`: the one HydraExpress instance an app uses, on the
 * shared Hydra instance (`require('hydra')` in the same app is the same Hydra).
 */
import { HydraExpress } from './hydra-express.js';

const SHARED = Symbol.for('@hydra-ts/hydra-express.instance');
const shared = globalThis as { [SHARED]?: HydraExpress };
/** The shared HydraExpress instance: what `require('hydra-express')` gives a hydra-express app. */
const hydraExpress: HydraExpress = (shared[SHARED] ??= new HydraExpress());

export = hydraExpress;
