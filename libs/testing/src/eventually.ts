/**
 * Reads until the value satisfies `ok`, a few milliseconds apart, for unit tests of consumers on the in-memory
 * store (their effects follow the appends asynchronously). Throws naming `what` after `timeoutMs`.
 */
export async function eventually<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, what: string, timeoutMs = 2_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
