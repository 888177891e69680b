/**
 * NATS subject patterns and how herald finds the JetStream stream for its subject. A real acapy-cloud
 * NATS already has `cloudapi_aries_events` on `cloudapi.aries.events.*.*`; JetStream refuses a second
 * stream whose subjects overlap an existing one's, so herald must attach to the stream that holds its
 * subject rather than create its own beside it.
 *
 * Tokens are separated by dots; `*` matches one token, `>` (last only) one or more.
 */

function tokens(subject: string): string[] {
  return subject.split(".");
}

/** Whether every subject that `subject` matches is also matched by `filter`. */
export function subjectCovers(filter: string, subject: string): boolean {
  const f = tokens(filter);
  const s = tokens(subject);
  for (let i = 0; i < f.length; i++) {
    const token = f[i]!;
    const other = s[i];
    if (other === undefined) return false;
    if (token === ">") return true;
    if (other === ">") return false;
    if (token !== "*" && (other === "*" || other !== token)) return false;
  }
  return f.length === s.length;
}

/** Whether some subject is matched by both patterns. */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = tokens(a);
  const y = tokens(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === ">" || q === ">") return true;
    if (p !== "*" && q !== "*" && p !== q) return false;
  }
  return x.length === y.length;
}

export interface StreamSubjects {
  readonly name: string;
  readonly subjects: readonly string[];
}

export type StreamChoice =
  | { readonly kind: "attach"; readonly stream: string }
  | { readonly kind: "create"; readonly stream: string }
  | { readonly kind: "unusable"; readonly reason: string };

/**
 * Where herald's subject lives: the configured stream when one of its subjects covers the subject,
 * else any stream that covers it; a new stream of the configured name only when no stream's subjects
 * overlap it. Anything else is refused with one line naming the stream and the subject, since
 * JetStream would refuse the new stream or the consumer would miss messages.
 */
export function chooseStream(existing: readonly StreamSubjects[], wanted: string, subject: string): StreamChoice {
  const covering = existing.filter((stream) => stream.subjects.some((filter) => subjectCovers(filter, subject)));
  const chosen = covering.find((stream) => stream.name === wanted) ?? covering[0];
  if (chosen) return { kind: "attach", stream: chosen.name };
  const overlapping = existing.find((stream) => stream.subjects.some((filter) => subjectsOverlap(filter, subject)));
  if (overlapping) {
    return {
      kind: "unusable",
      reason: `NATS stream ${overlapping.name} (subjects ${overlapping.subjects.join(", ")}) overlaps subject ${subject} without holding all of it; set the subject to one the stream covers`,
    };
  }
  const named = existing.find((stream) => stream.name === wanted);
  if (named) {
    return {
      kind: "unusable",
      reason: `NATS stream ${wanted} exists without subject ${subject} (it has ${named.subjects.join(", ") || "none"}); name another stream or subject`,
    };
  }
  return { kind: "create", stream: wanted };
}
