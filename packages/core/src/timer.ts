/**
 * Node's timers hold at most 2^31-1 ms (~24.8 days): a longer setTimeout fires after
 * 1 ms, with a TimeoutOverflowWarning, and undici's timeouts do the same. A wait asked
 * for longer than that (a UMF `tmo` of 1e308 seconds) is clamped to it rather than
 * refused: whoever asks for such a wait means "as long as it takes", and a message
 * that is fine otherwise should not be turned away for it.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** `ms` as a timer can hold it. */
export function timerMs(ms: number): number {
  return Math.min(ms, MAX_TIMEOUT_MS);
}
