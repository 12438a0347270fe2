/** Hydra's event names (`require('hydra/events')`). */
class HydraEvent {
  /** Emitted on hydra with the new service config; HydraPlugin listens for it. */
  static get CONFIG_UPDATE_EVENT(): string {
    return 'configUpdate';
  }
  /** The message type that asks a service to reload its config. */
  static get UPDATE_MESSAGE_TYPE(): string {
    return 'configRefresh';
  }
}

export = HydraEvent;
