import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { DELIVERY, type Delivery, REDELIVER } from "./console-queries.js";
import { hrefOf } from "./console-route.js";
import { useSignedIn, writeRefusal } from "./console-session.js";
import { ErrorMessage, formatTime, Loading, StatusBadge, WriteButton } from "./console-ui.js";
import { POLL_MS } from "./endpoint-page.js";

/** One delivery: the transaction, every attempt, the outcome, and Redeliver when it failed. */
export function DeliveryPage({ deliveryId }: { deliveryId: string }) {
  const { request, role } = useSignedIn();
  const queries = useQueryClient();
  const delivery = useQuery({
    queryKey: ["delivery", deliveryId],
    queryFn: () => request<{ delivery: Delivery }>(DELIVERY, { deliveryId }),
    refetchInterval: POLL_MS,
  });
  const redeliver = useMutation({
    mutationFn: () => request<{ redeliver: { redelivered: boolean } }>(REDELIVER, { deliveryId }),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["delivery", deliveryId] }),
  });
  if (delivery.isPending) return <Loading what="the delivery" />;
  if (delivery.error) return <ErrorMessage error={delivery.error} />;
  const d = delivery.data.delivery;
  const refusal =
    writeRefusal(role) ?? (d.status === "FAILED" ? undefined : "Only a failed delivery can be sent again.");
  return (
    <>
      <p>
        <a href={hrefOf({ page: "endpoint", webhookId: d.webhookId })}>← Endpoint</a>
      </p>
      <h1>Delivery</h1>
      <dl className="facts">
        <dt>Outcome</dt>
        <dd>
          <StatusBadge status={d.status} detail={d.failureReason} />
        </dd>
        <dt>Scheduled</dt>
        <dd>{formatTime(d.scheduledAt)}</dd>
        <dt>Finished</dt>
        <dd>{formatTime(d.finishedAt)}</dd>
        <dt>Next attempt due</dt>
        <dd>{formatTime(d.nextAttemptAt)}</dd>
        <dt>Delivery id</dt>
        <dd className="break">{d.deliveryId}</dd>
      </dl>
      <div className="actions">
        <WriteButton
          refusal={refusal}
          className="primary"
          disabled={redeliver.isPending}
          onClick={() => redeliver.mutate()}
        >
          Redeliver
        </WriteButton>
        {redeliver.data && (
          <span role="status">
            {redeliver.data.redeliver.redelivered
              ? "Scheduled again: the new attempt appears below."
              : "Nothing sent: the delivery was not failed."}
          </span>
        )}
      </div>
      <ErrorMessage error={redeliver.error} />
      <h2>Attempts ({d.attempts.length})</h2>
      {d.attempts.length === 0 && <p>No attempt yet.</p>}
      <ol className="timeline" aria-label="Attempts">
        {d.attempts.map((attempt) => (
          <li key={attempt.number} className={attempt.statusCode != null && attempt.statusCode < 300 ? "ok" : "bad"}>
            <h3>
              Attempt {attempt.number}:{" "}
              {attempt.statusCode != null ? `HTTP ${attempt.statusCode}` : `error ${attempt.errorClass ?? "unknown"}`}
            </h3>
            <dl className="facts">
              <dt>Started</dt>
              <dd>{formatTime(attempt.startedAt)}</dd>
              <dt>Duration</dt>
              <dd>{Math.round(attempt.durationMs)} ms</dd>
              <dt>URL</dt>
              <dd className="break">{attempt.url}</dd>
              <dt>Retry-After</dt>
              <dd>{attempt.retryAfter ?? "—"}</dd>
              <dt>Next attempt due</dt>
              <dd>{formatTime(attempt.nextAttemptAt)}</dd>
            </dl>
            {attempt.responseBody ? (
              <details>
                <summary>Response body ({attempt.responseBody.length} characters)</summary>
                <pre>{attempt.responseBody}</pre>
              </details>
            ) : (
              <p className="muted">Empty response body.</p>
            )}
          </li>
        ))}
      </ol>
      <h2>Transaction</h2>
      <JsonView value={d.transaction} label="Transaction JSON" />
    </>
  );
}

function JsonView({ value, label }: { value: unknown; label: string }) {
  const [copied, setCopied] = useState<string>();
  const text = JSON.stringify(value, null, 2);
  return (
    <div className="json">
      <button
        type="button"
        onClick={() =>
          navigator.clipboard.writeText(text).then(
            () => setCopied("Copied."),
            (error: unknown) => setCopied(`Could not copy: ${error instanceof Error ? error.message : String(error)}`),
          )
        }
      >
        Copy JSON
      </button>
      <span role="status">{copied}</span>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: the JSON scrolls, so it must take keyboard focus (axe: scrollable-region-focusable). */}
      {/* biome-ignore lint/a11y/useAriaPropsSupportedByRole: the label names what a keyboard user lands on. */}
      <pre tabIndex={0} aria-label={label}>
        {text}
      </pre>
    </div>
  );
}
