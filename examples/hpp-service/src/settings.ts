/**
 * The game's settings: the `hpp` section of the config document (file or stored
 * config), with the article's timing as defaults. Checked once at start; a bad
 * field stops the service with a coded error naming it.
 */
import { HydraError, type ConfigDocument } from '@hydra-ts/core';

export interface GameSettings {
  /** Countdown before the potato is sent ("Game starting in: N seconds"), whole seconds. */
  countdownSeconds: number;
  /** Life of a potato: `bdy.expiration` is the Unix second at sending plus this. */
  gameSeconds: number;
  /** A holder waits a random time in [min, max] before passing the potato on. */
  passDelayMinMs: number;
  passDelayMaxMs: number;
  /** Games started on this instance and not yet over; more are refused. */
  maxGames: number;
  /** Potatoes this player holds at once (one per game); more are dropped. */
  maxHeldPotatoes: number;
  /** How long after the potato's expiry (plus a pass delay) a starter waits before it calls the potato lost. */
  graceMs: number;
}

/** The article's game: a 3 s countdown, about 15 s of play, a pass every 1-2 s. */
export const DEFAULT_SETTINGS: GameSettings = {
  countdownSeconds: 3,
  gameSeconds: 15,
  passDelayMinMs: 1000,
  passDelayMaxMs: 2000,
  maxGames: 10,
  maxHeldPotatoes: 100,
  graceMs: 5000,
};

const LIMITS: Record<keyof GameSettings, { min: number; max: number }> = {
  countdownSeconds: { min: 0, max: 60 },
  gameSeconds: { min: 1, max: 600 },
  passDelayMinMs: { min: 0, max: 60_000 },
  passDelayMaxMs: { min: 0, max: 60_000 },
  maxGames: { min: 1, max: 1000 },
  maxHeldPotatoes: { min: 1, max: 10_000 },
  graceMs: { min: 0, max: 60_000 },
};

export function gameSettings(config: ConfigDocument): GameSettings {
  const section = config.hpp ?? {};
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    throw new HydraError('INVALID_CONFIG', 'config field "hpp" must be an object');
  }
  const given = section as Record<string, unknown>;
  const settings = { ...DEFAULT_SETTINGS };
  for (const field of Object.keys(LIMITS) as Array<keyof GameSettings>) {
    const value = given[field];
    if (value === undefined) continue;
    const { min, max } = LIMITS[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new HydraError('INVALID_CONFIG', `config field hpp.${field} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`);
    }
    settings[field] = value;
  }
  for (const field of Object.keys(given)) {
    if (!(field in LIMITS)) throw new HydraError('INVALID_CONFIG', `config field hpp.${field} is unknown (known: ${Object.keys(LIMITS).join(', ')})`);
  }
  if (settings.passDelayMinMs > settings.passDelayMaxMs) {
    throw new HydraError('INVALID_CONFIG', `config field hpp.passDelayMinMs (${settings.passDelayMinMs}) must not exceed hpp.passDelayMaxMs (${settings.passDelayMaxMs})`);
  }
  return settings;
}

/**
 * The longest a game may take from its start to its end, the hard deadline: the
 * countdown, the potato's life (its expiration is a whole second, so up to one
 * more), one pass delay (a potato handed over just before expiry is judged by
 * its receiver) and the grace for a silent or vanished holder to be noticed.
 */
export function gameDeadlineMs(s: GameSettings): number {
  return s.countdownSeconds * 1000 + (s.gameSeconds + 1) * 1000 + s.passDelayMaxMs + s.graceMs;
}
