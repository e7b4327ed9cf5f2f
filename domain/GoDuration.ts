/** Go-style durations as Kubernetes users write them (`30s`, `1h30m`, `250ms`), in milliseconds. */
const units: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

export const parseGoDuration = (text: string): number | undefined => {
  if (!/^(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+$/.test(text)) return undefined
  let total = 0
  for (const [, amount, unit] of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * (units[unit ?? "s"] ?? 0)
  }
  return total
}
