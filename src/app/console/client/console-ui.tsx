import type { ButtonHTMLAttributes, ReactNode } from "react";
import { useId } from "react";

/** An API error (or any other) as its message: never a blank page. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return <p role="status">Loading {what}…</p>;
}

/**
 * A button that changes something. When the role may not (`refusal`), it stays visible but
 * disabled, with the reason as its tooltip and, for keyboards and screen readers, as its description.
 */
export function WriteButton({
  refusal,
  children,
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { refusal: string | undefined }) {
  const reasonId = useId();
  if (!refusal)
    return (
      <button type="button" {...props}>
        {children}
      </button>
    );
  return (
    <span className="write-refused" title={refusal}>
      <button type="button" {...props} disabled aria-describedby={reasonId} title={refusal}>
        {children}
      </button>
      <span id={reasonId} className="visually-hidden">
        {refusal}
      </span>
    </span>
  );
}

const STATUS_MARKS: Readonly<Record<string, string>> = {
  ACTIVE: "●",
  SUCCEEDED: "✓",
  FAILING: "▲",
  PENDING: "↻",
  PAUSED: "❚❚",
  FAILED: "✕",
  DISABLED: "⊘",
};

/** A status as a word with a mark and a colour, so that it reads without the colour. */
export function StatusBadge({ status, detail }: { status: string; detail?: string | null }) {
  return (
    <span className={`badge badge-${status.toLowerCase()}`}>
      <span aria-hidden="true">{STATUS_MARKS[status] ?? "•"} </span>
      {status}
      {detail ? ` (${detail.toLowerCase().replace(/_/g, " ")})` : ""}
    </span>
  );
}

export function formatTime(ms: number | null | undefined): string {
  if (ms == null) return "—";
  return new Date(ms).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

/** A wide table that scrolls sideways on a narrow screen, and can be scrolled with the keyboard. */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a region that scrolls must take keyboard focus (axe: scrollable-region-focusable).
    <section className="table-scroll" tabIndex={0} aria-label={label}>
      {children}
    </section>
  );
}

/** `datetime-local` inputs speak local time without a zone; the API takes ISO-8601. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function isoToLocalInput(ms: number): string {
  const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return date.toISOString().slice(0, 16);
}
