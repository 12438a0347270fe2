/** How often instances beat and how long their keys live: shared by the registry's modules. */

/** An instance renews its presence this often. */
export const HEARTBEAT_INTERVAL_MS = 1000;
/** Presence expires this long after the last beat (Hydra's value; Hydra peers read it). */
export const PRESENCE_TTL_S = 3;
/**
 * Every this many beats, an instance rewrites its other keys (see Registration.refresh):
 * often enough that a deleted key is back within seconds, rarely enough that an instance
 * costs Redis about as many commands a second as a Hydra instance does.
 */
export const BEATS_PER_REFRESH = 10;
/**
 * Health is rewritten with the other keys; its TTL outlasts that gap plus late beats, so
 * health is there whenever presence is.
 */
export const HEALTH_TTL_S = 13;
