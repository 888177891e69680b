import { writeSync } from "node:fs";

/**
 * Crash points for tests and drills (HERALD_FAULT_AT): the process kills itself with SIGKILL at the
 * named point, so a test can land a crash inside a window of a few microseconds, which killing the
 * process from outside cannot. Unarmed (the default), a fault point does nothing.
 */
export const FAULT_POINTS = [
  /** Ingest's append (with its deliveries scheduled) committed, the NATS messages not acknowledged yet. */
  "after-ingest-commit",
  /** An attempt is about to POST: its delivery is leased to this process, nothing is sent yet. */
  "before-post",
] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number];

let armed: FaultPoint | undefined;

/** Set once at start from the configuration. */
export function armFaultPoint(point: FaultPoint | undefined): void {
  armed = point;
}

export function faultPoint(point: FaultPoint): void {
  if (armed !== point) return;
  // Synchronous: the line must be out before the process is.
  writeSync(2, `${JSON.stringify({ level: 60, msg: "fault injected: SIGKILL", faultAt: point })}\n`);
  process.kill(process.pid, "SIGKILL");
}
