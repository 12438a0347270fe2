/**
 * Hydra's plugin base class (`require('hydra/plugin')`). hydra.use(plugin) calls
 * setHydra; init() calls setConfig with the hydra branch of the config before it
 * connects and onServiceReady once connected, before init's promise resolves.
 * A hook may return a promise; a throw or rejection fails init.
 */
import HydraEvent = require('./events.js');
import type { EventEmitter } from 'node:events';

/** The base class Hydra plugins extend (`class MyPlugin extends require('hydra/plugin')`). */
class HydraPlugin {
  /** The unique name under which the plugin's options sit in `hydra.plugins`. */
  name: string;
  /** The hydra this plugin was registered with. */
  hydra?: EventEmitter & Record<string, any>;
  /** The hydra branch of the config. */
  hydraConfig?: Record<string, any>;
  /** The whole service config, as updateConfig received it. */
  serviceConfig?: Record<string, any>;
  /** This plugin's options: `hydra.plugins[name]`, or `{}`. */
  opts: Record<string, any> = {};

  constructor(pluginName: string) {
    this.name = pluginName;
  }

  /** Called by hydra.use(); follows config updates. */
  setHydra(hydra: EventEmitter & Record<string, any>): unknown {
    this.hydra = hydra;
    hydra.on(HydraEvent.CONFIG_UPDATE_EVENT, (config: Record<string, any>) => this.updateConfig(config));
    return undefined;
  }

  /** Called at the start of init() with the hydra branch of the config. */
  setConfig(hydraConfig: Record<string, any>): unknown {
    this.hydraConfig = hydraConfig;
    this.opts = hydraConfig?.plugins?.[this.name] ?? {};
    return undefined;
  }

  /** A new service config: configChanged() runs when this plugin's options differ. */
  updateConfig(serviceConfig: Record<string, any>): void {
    this.serviceConfig = serviceConfig;
    this.hydraConfig = serviceConfig.hydra;
    const opts = this.hydraConfig?.plugins?.[this.name] ?? {};
    if (JSON.stringify(this.opts) !== JSON.stringify(opts)) this.configChanged(opts);
  }

  /** Override to act on changed options (Hydra's default printed them; this one does nothing). */
  configChanged(_opts: Record<string, any>): void {}

  /** Override to run once hydra is connected, before init() resolves (Hydra's default printed a line; this one does nothing). */
  onServiceReady(): unknown {
    return undefined;
  }
}

export = HydraPlugin;
