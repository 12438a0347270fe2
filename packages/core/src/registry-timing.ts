/** How often instances beat and how long their keys live: shared by the registry's modules. */

/** An instance renews its presence this often. */
export const HEARTBEAT_INTERVAL_MS = 1000;
/** Presence expires this long after the last beat (Hydra's value; Hydra peers read it). */
export const PRESENCE_TTL_S = 3;
/**
 * Health is rewritten every fifth beat (as Hydra rewrote it every 5 s); its TTL outlasts
 * that gap plus a late beat, so health is there whenever presence is.
 */
export const HEALTH_TTL_S = 8;
/** Every this many beats, an instance rewrites its other keys (see Registration.refresh). */
export const BEATS_PER_REFRESH = 5;
