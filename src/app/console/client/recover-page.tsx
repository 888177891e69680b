import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { FAILED_COUNT, RECOVER } from "./console-queries.js";
import { hrefOf } from "./console-route.js";
import { useSignedIn, writeRefusal } from "./console-session.js";
import { ErrorMessage, isoToLocalInput, localInputToIso, WriteButton } from "./console-ui.js";

/** Sends an endpoint's failed deliveries in a window again, once the user has seen how many. */
export function RecoverPage({ webhookId }: { webhookId: string }) {
  const { request, role } = useSignedIn();
  const [since, setSince] = useState(() => isoToLocalInput(Date.now() - 86_400_000));
  const [until, setUntil] = useState("");
  const [key, setKey] = useState(() => `console-${crypto.getRandomValues(new Uint32Array(2)).join("-")}`);
  const [confirming, setConfirming] = useState(false);
  const range = { webhookId, since: localInputToIso(since), until: localInputToIso(until) };
  const count = useQuery({
    queryKey: ["failed-count", range],
    queryFn: () => request<{ deliveries: { total: number } }>(FAILED_COUNT, range),
  });
  const recover = useMutation({
    mutationFn: () =>
      request<{ recoverDeliveries: { deliveryIds: string[] } }>(RECOVER, {
        ...range,
        idempotencyKey: key || undefined,
      }),
    onSettled: () => setConfirming(false),
  });
  const failed = count.data?.deliveries.total;
  return (
    <>
      <p>
        <a href={hrefOf({ page: "endpoint", webhookId })}>← Endpoint</a>
      </p>
      <h1>Recover failed deliveries</h1>
      <form
        className="stacked"
        onSubmit={(event) => {
          event.preventDefault();
          setConfirming(true);
        }}
      >
        <label htmlFor="recover-since">Scheduled from</label>
        <input
          id="recover-since"
          type="datetime-local"
          value={since}
          onChange={(event) => setSince(event.target.value)}
        />
        <label htmlFor="recover-until">Scheduled before (empty: now)</label>
        <input
          id="recover-until"
          type="datetime-local"
          value={until}
          onChange={(event) => setUntil(event.target.value)}
        />
        <label htmlFor="recover-key">Idempotency key</label>
        <input
          id="recover-key"
          value={key}
          onChange={(event) => setKey(event.target.value)}
          aria-describedby="recover-key-help"
          spellCheck={false}
        />
        <p id="recover-key-help" className="muted">
          Sending the same request again with this key sends nothing more.
        </p>
        <p role="status">
          {count.isPending
            ? "Counting failed deliveries…"
            : failed !== undefined && `${failed} failed deliver${failed === 1 ? "y" : "ies"} in this window.`}
        </p>
        <ErrorMessage error={count.error} />
        {!confirming && (
          <WriteButton
            refusal={writeRefusal(role)}
            className="primary"
            disabled={!failed}
            onClick={() => setConfirming(true)}
          >
            Recover…
          </WriteButton>
        )}
      </form>
      {confirming && (
        <div className="confirm" role="alertdialog" aria-labelledby="confirm-text">
          <p id="confirm-text">
            Send {failed} failed deliver{failed === 1 ? "y" : "ies"} again?
          </p>
          <button
            type="button"
            className="primary"
            disabled={recover.isPending}
            onClick={() => recover.mutate()}
            // biome-ignore lint/a11y/noAutofocus: this confirm step opens because the user asked for it; focus belongs on its action.
            autoFocus
          >
            Send {failed} again
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      <ErrorMessage error={recover.error} />
      {recover.data && (
        <p role="status">Scheduled {recover.data.recoverDeliveries.deliveryIds.length} deliveries again.</p>
      )}
    </>
  );
}
