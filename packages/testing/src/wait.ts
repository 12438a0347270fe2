/**
 * Polls `probe` until it returns a truthy value (thrown errors count as "not yet") and
 * resolves with it; after `timeoutMs` fails naming `what` and the last thing seen.
 * Tests wait for conditions with this, never for fixed times.
 */
export async function waitFor<T>(what: string | (() => string), probe: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what} (last: ${seen})`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
