/**
 * Hydra's config helper (`hydra.getConfigHelper()`, `require('hydra/lib/config')`):
 * `init(pathOrObject)` loads a config, `getObject()` returns a copy, and the loaded
 * fields read as properties of the helper. A file is read by core's one JSON file
 * reader (size limit, refusal of FIFOs and devices, errors naming file:line:column).
 * Hydra also followed a `location` field to another file; that is kept.
 */
import { readJsonFile } from '@hydra-ts/core';

/** How many `location` indirections are followed before the chain is called a loop. */
const MAX_LOCATION_HOPS = 8;

class Config {
  /** The loaded config. */
  config: Record<string, unknown> = {};

  /** A shallow copy of the loaded config. */
  getObject(): Record<string, any> {
    return { ...this.config };
  }

  /** Loads from a JSON file path (following `location`) or takes a copy of an object. */
  async init(cfg: string | Record<string, unknown>): Promise<void> {
    if (!cfg) throw new Error('no config specified');
    let loaded: unknown = cfg;
    for (let hops = 0; typeof loaded === 'string'; hops++) {
      if (hops === MAX_LOCATION_HOPS) throw new Error(`config "location" chain is longer than ${MAX_LOCATION_HOPS} files (a loop?)`);
      const doc = readJsonFile(loaded);
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`config file ${loaded} must hold a JSON object`);
      const location = (doc as Record<string, unknown>).location;
      loaded = typeof location === 'string' ? location : doc;
    }
    this.config = { ...(loaded as Record<string, unknown>) };
  }
}

/** The helper instance; loaded fields read through it (`helper.hydra`), as Hydra's Proxy allowed. */
const helper = new Proxy(new Config(), {
  get: (target, name, receiver) => (name in target ? Reflect.get(target, name, receiver) : target.config[name as string]),
}) as Config & Record<string, any>;

export = helper;
