import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { AUDIT_TRAIL, ENDPOINT_AS_OF, type Endpoint } from "./console-queries.js";
import { hrefOf } from "./console-route.js";
import { useSignedIn } from "./console-session.js";
import { ErrorMessage, formatTime, isoToLocalInput, Loading, localInputToIso, TableScroll } from "./console-ui.js";

interface AuditEvent {
  type: string;
  stream: string;
  revision: string;
  position: string;
  at: string;
  actor: string;
  correlationId: string;
  causationId: string;
  data: Record<string, unknown>;
}

/** An endpoint's audit trail, and its configuration as it stood at any moment. */
export function AuditPage({ webhookId }: { webhookId: string }) {
  const { request } = useSignedIn();
  const [asOf, setAsOf] = useState(() => isoToLocalInput(Date.now()));
  const trail = useQuery({
    queryKey: ["audit", webhookId],
    queryFn: () => request<{ auditTrail: AuditEvent[] }>(AUDIT_TRAIL, { webhookId }),
  });
  const asOfIso = localInputToIso(asOf);
  const past = useQuery({
    queryKey: ["as-of", webhookId, asOfIso],
    queryFn: () => request<{ webhookEndpoint: Endpoint }>(ENDPOINT_AS_OF, { webhookId, asOf: asOfIso }),
  });
  const state = past.data?.webhookEndpoint;
  return (
    <>
      <p>
        <a href={hrefOf({ page: "endpoint", webhookId })}>← Endpoint</a>
      </p>
      <h1>Audit</h1>
      <section aria-labelledby="as-of-heading">
        <h2 id="as-of-heading">Configuration as of</h2>
        <label htmlFor="as-of">Date and time</label>{" "}
        <input
          id="as-of"
          type="datetime-local"
          step="1"
          value={asOf}
          onChange={(event) => setAsOf(event.target.value)}
        />
        <ErrorMessage error={past.error} />
        {state && (
          <dl className="facts">
            <dt>URL</dt>
            <dd className="break">{state.url}</dd>
            <dt>Status</dt>
            <dd>{state.status}</dd>
            <dt>Retries</dt>
            <dd>{state.retries}</dd>
            <dt>Rate limit</dt>
            <dd>{state.rateLimit ?? "none"}</dd>
            <dt>Failing since</dt>
            <dd>{formatTime(state.failingSince)}</dd>
          </dl>
        )}
      </section>
      <section aria-labelledby="trail-heading">
        <h2 id="trail-heading">Audit trail</h2>
        <ErrorMessage error={trail.error} />
        {trail.isPending ? (
          <Loading what="the audit trail" />
        ) : (
          <TableScroll label="Audit trail events">
            <table className="audit">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Event</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Correlation</th>
                  <th scope="col">Data</th>
                </tr>
              </thead>
              <tbody>
                {trail.data?.auditTrail.map((event) => (
                  <tr key={event.position}>
                    <td>{formatTime(Date.parse(event.at))}</td>
                    <td>
                      {event.type}
                      <div className="muted">
                        {event.stream}@{event.revision}
                      </div>
                    </td>
                    <td className="break">{event.actor}</td>
                    <td className="break">{event.correlationId}</td>
                    <td>
                      <details>
                        <summary>data</summary>
                        <pre>{JSON.stringify(event.data, null, 2)}</pre>
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
    </>
  );
}
