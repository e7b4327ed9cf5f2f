/**
 * Deadline polling for tests: retries `check` until it stops throwing, then returns its result.
 * The deadline is generous — it exists so a broken server cannot hang the run, not to time anything.
 */
export const eventually = async <A>(
  what: string,
  check: () => A | Promise<A>,
  options: { readonly timeoutMs?: number; readonly intervalMs?: number } = {},
): Promise<A> => {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  let lastError: unknown
  for (;;) {
    try {
      return await check()
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? lastError.message : String(lastError)
      throw new Error(`timed out waiting until ${what}: ${reason}`)
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100))
  }
}
