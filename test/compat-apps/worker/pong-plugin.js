'use strict';

const HydraPlugin = require('hydra/plugin');

/** From Hydra's plugin guide: options under hydra.plugins.pong. */
class PongPlugin extends HydraPlugin {
  constructor() {
    super('pong');
  }

  setConfig(hydraConfig) {
    super.setConfig(hydraConfig);
    console.log(JSON.stringify({ event: 'plugin-config', opts: this.opts }));
  }

  onServiceReady() {
    return new Promise((resolve) => {
      setTimeout(() => {
        console.log(JSON.stringify({ event: 'plugin-ready', instanceID: this.hydra.getInstanceID() }));
        resolve();
      }, 10);
    });
  }
}

module.exports = PongPlugin;
