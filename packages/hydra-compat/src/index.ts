/**
 * `require('hydra')`: the one Hydra instance an app shares, as the hydra package
 * exported it. The instance is kept on globalThis under a registered symbol: with
 * `"hydra": "npm:@hydra-ts/hydra@…"` and @hydra-ts/hydra-express (which depends on
 * @hydra-ts/hydra) npm installs two copies of this package, and both must hand out
 * the instance hydra-express initialised, as the single `hydra` of a Hydra app did.
 */
import { Hydra } from './hydra.js';

const SHARED = Symbol.for('@hydra-ts/hydra.instance');
const shared = globalThis as { [SHARED]?: Hydra };
/** The shared Hydra instance: what `require('hydra')` gives a Hydra app. */
const hydra: Hydra = (shared[SHARED] ??= new Hydra());

export = hydra;
