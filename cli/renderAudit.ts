/** The table `coral audit` prints (the demo prints it too). */
import type { AuditEntry } from "../domain/AuditTrail.ts"

export const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? []
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
}

export const renderAudit = (trail: ReadonlyArray<AuditEntry>): string =>
  table([["SEQ", "TIME", "WHO", "WHAT"], ...trail.map((e) => [String(e.sequence), e.at, e.actor, e.what])])
