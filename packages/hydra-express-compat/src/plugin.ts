/**
 * hydra-express's plugin base class (`require('hydra-express/plugin')`): a Hydra
 * plugin that is handed the HydraExpress (setHydraExpress) and the whole service
 * config (setConfig), not only its hydra branch.
 */
import HydraPlugin = require('@hydra-ts/hydra/plugin');
import type { HydraExpress } from './hydra-express.js';

/** The base class hydra-express plugins extend. */
class HydraExpressPlugin extends HydraPlugin {
  /** The HydraExpress this plugin was registered with. */
  hydraExpress?: HydraExpress;

  /** Called by hydraExpress.use(): remembers it and registers with its Hydra. */
  setHydraExpress(hydraExpress: HydraExpress): unknown {
    this.setHydra(hydraExpress.getHydra());
    this.hydraExpress = hydraExpress;
    return undefined;
  }

  /** Called with the whole service config; the hydra branch goes to HydraPlugin.setConfig. */
  override setConfig(serviceConfig: Record<string, any>): unknown {
    super.setConfig(serviceConfig.hydra);
    this.serviceConfig = serviceConfig;
    return undefined;
  }
}

export = HydraExpressPlugin;
