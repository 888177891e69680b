import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import {
  CHART_DELIVERIES,
  DELIVERY_LOG,
  type Delivery,
  ENDPOINT,
  type Endpoint,
  type PageInfo,
} from "./console-queries.js";
import { hrefOf } from "./console-route.js";
import { useSignedIn } from "./console-session.js";
import { ErrorMessage, formatTime, Loading, localInputToIso, StatusBadge, TableScroll } from "./console-ui.js";
import { LatencyChart, OutcomeChart } from "./delivery-charts.js";
import { type DeliveryPoint, latencyOverTime, outcomesOverTime } from "./delivery-stats.js";

/** How often the page asks for new deliveries: polling, so that no connection stays open per viewer. */
export const POLL_MS = 2_000;
const LOG_PAGE = 20;
/** The charts read at most this many of the window's newest deliveries (5 requests of 100). */
const CHART_LIMIT = 500;
const WINDOWS = [
  { label: "Last hour", ms: 3_600_000, buckets: 12 },
  { label: "Last 24 hours", ms: 86_400_000, buckets: 24 },
  { label: "Last 7 days", ms: 7 * 86_400_000, buckets: 14 },
] as const;

type Subscription = {
  subscriptionId: string;
  type: string;
  actions: string[];
  collectionId: string;
  createdAt: number;
};

/** One endpoint: its configuration and subscriptions, charts of its recent deliveries, and its delivery log. */
export function EndpointPage({ webhookId }: { webhookId: string }) {
  const { request } = useSignedIn();
  const endpoint = useQuery({
    queryKey: ["endpoint", webhookId],
    queryFn: () =>
      request<{ webhookEndpoint: Endpoint; webhookSubscriptions: { total: number; edges: { node: Subscription }[] } }>(
        ENDPOINT,
        { webhookId },
      ),
    refetchInterval: POLL_MS * 5,
  });
  if (endpoint.isPending) return <Loading what="the endpoint" />;
  if (endpoint.error) return <ErrorMessage error={endpoint.error} />;
  const { webhookEndpoint: e, webhookSubscriptions: subscriptions } = endpoint.data;
  return (
    <>
      <h1>
        Endpoint <span className="break">{e.url}</span>
      </h1>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={e.status} detail={e.disabledReason} />
        </dd>
        <dt>Failing since</dt>
        <dd>{formatTime(e.failingSince)}</dd>
        <dt>Rate limit</dt>
        <dd>{e.rateLimit == null ? "none" : `${e.rateLimit} attempts/s`}</dd>
        <dt>Retries</dt>
        <dd>{e.retries}</dd>
        <dt>Subscriber</dt>
        <dd className="break">{e.subscriber}</dd>
        <dt>Webhook id</dt>
        <dd className="break">{e.webhookId}</dd>
      </dl>
      <p className="actions">
        <a href={hrefOf({ page: "recover", webhookId })}>Recover failed deliveries</a>
        <a href={hrefOf({ page: "audit", webhookId })}>Audit trail and history</a>
      </p>
      <h2>Subscriptions ({subscriptions.total})</h2>
      {subscriptions.total === 0 ? (
        <p>No subscriptions: nothing is delivered to this endpoint.</p>
      ) : (
        <TableScroll label="Subscriptions">
          <table>
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Actions</th>
                <th scope="col">Collection</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {subscriptions.edges.map(({ node }) => (
                <tr key={node.subscriptionId}>
                  <td>{node.type}</td>
                  <td>{node.actions.join(", ")}</td>
                  <td className="break">{node.collectionId}</td>
                  <td>{formatTime(node.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <DeliveryCharts webhookId={webhookId} />
      <DeliveryLog webhookId={webhookId} />
    </>
  );
}

function DeliveryCharts({ webhookId }: { webhookId: string }) {
  const { request } = useSignedIn();
  const [windowIndex, setWindowIndex] = useState(1);
  const span = WINDOWS[windowIndex] ?? WINDOWS[1];
  const charts = useQuery({
    queryKey: ["chart", webhookId, span.ms],
    queryFn: async () => {
      const until = Date.now();
      const since = until - span.ms;
      const points: DeliveryPoint[] = [];
      let before: string | undefined;
      let total = 0;
      // Newest first, a page of 100 at a time, until the window or the limit is reached.
      do {
        const { deliveries } = await request<{
          deliveries: { total: number; pageInfo: PageInfo; edges: { node: DeliveryPoint }[] };
        }>(CHART_DELIVERIES, {
          webhookId,
          since: new Date(since).toISOString(),
          before,
        });
        total = deliveries.total;
        points.push(...deliveries.edges.map((edge) => edge.node));
        before = deliveries.pageInfo.hasPreviousPage ? (deliveries.pageInfo.startCursor ?? undefined) : undefined;
      } while (before && points.length < CHART_LIMIT);
      return { since, until, points, total };
    },
    placeholderData: keepPreviousData,
    refetchInterval: POLL_MS * 5,
  });
  return (
    <section aria-labelledby="charts-heading">
      <h2 id="charts-heading">Deliveries and latency</h2>
      <label htmlFor="chart-window">Window</label>{" "}
      <select id="chart-window" value={windowIndex} onChange={(event) => setWindowIndex(Number(event.target.value))}>
        {WINDOWS.map((option, index) => (
          <option key={option.label} value={index}>
            {option.label}
          </option>
        ))}
      </select>
      <ErrorMessage error={charts.error} />
      {charts.data && (
        <>
          {charts.data.points.length < charts.data.total && (
            <p className="notice">
              The charts show the newest {charts.data.points.length} of {charts.data.total} deliveries in the window.
            </p>
          )}
          <div className="charts">
            <OutcomeChart
              buckets={outcomesOverTime(charts.data.points, charts.data.since, charts.data.until, span.buckets)}
              spanMs={span.ms}
            />
            <LatencyChart
              buckets={latencyOverTime(charts.data.points, charts.data.since, charts.data.until, span.buckets)}
              spanMs={span.ms}
            />
          </div>
        </>
      )}
    </section>
  );
}

type LogDelivery = Pick<
  Delivery,
  "deliveryId" | "transactionId" | "scheduledAt" | "status" | "finishedAt" | "failureReason"
> & {
  attempts: { number: number; statusCode: number | null; errorClass: string | null }[];
};

/** Newest first: each page is the `last` N before a cursor, shown reversed; the first page polls. */
function DeliveryLog({ webhookId }: { webhookId: string }) {
  const { request } = useSignedIn();
  const [status, setStatus] = useState("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  // Cursors of the pages before this one (older pages push), so "Newer" can go back.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  const log = useQuery({
    queryKey: ["delivery-log", webhookId, status, since, until, before],
    queryFn: () =>
      request<{ deliveries: { total: number; pageInfo: PageInfo; edges: { node: LogDelivery }[] } }>(DELIVERY_LOG, {
        webhookId,
        status: status || undefined,
        since: localInputToIso(since),
        until: localInputToIso(until),
        last: LOG_PAGE,
        before,
      }),
    placeholderData: keepPreviousData,
    refetchInterval: POLL_MS,
  });
  const resetPaging = () => setCursors([undefined]);
  const connection = log.data?.deliveries;
  return (
    <section aria-labelledby="log-heading">
      <h2 id="log-heading">Delivery log</h2>
      <p className="muted">Newest first; new deliveries appear within {POLL_MS / 1000} seconds.</p>
      <div className="filters">
        <label htmlFor="log-status">Status</label>
        <select
          id="log-status"
          value={status}
          onChange={(event) => {
            setStatus(event.target.value);
            resetPaging();
          }}
        >
          <option value="">Any</option>
          <option value="SUCCEEDED">Succeeded</option>
          <option value="PENDING">Pending (retrying)</option>
          <option value="PAUSED">Paused</option>
          <option value="FAILED">Failed</option>
        </select>
        <label htmlFor="log-since">Scheduled from</label>
        <input
          id="log-since"
          type="datetime-local"
          value={since}
          onChange={(event) => {
            setSince(event.target.value);
            resetPaging();
          }}
        />
        <label htmlFor="log-until">until</label>
        <input
          id="log-until"
          type="datetime-local"
          value={until}
          onChange={(event) => {
            setUntil(event.target.value);
            resetPaging();
          }}
        />
      </div>
      <ErrorMessage error={log.error} />
      {connection && (
        <>
          <p>
            {connection.total} deliver{connection.total === 1 ? "y" : "ies"}
          </p>
          <TableScroll label="Delivery log entries">
            <table className="deliveries">
              <thead>
                <tr>
                  <th scope="col">Scheduled</th>
                  <th scope="col">Status</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last answer</th>
                  <th scope="col">Transaction</th>
                </tr>
              </thead>
              <tbody>
                {connection.edges.toReversed().map(({ node }) => {
                  const last = node.attempts[node.attempts.length - 1];
                  return (
                    <tr key={node.deliveryId}>
                      <td>
                        <a href={hrefOf({ page: "delivery", deliveryId: node.deliveryId })}>
                          {formatTime(node.scheduledAt)}
                        </a>
                      </td>
                      <td>
                        <StatusBadge status={node.status} detail={node.failureReason} />
                      </td>
                      <td>{node.attempts.length}</td>
                      <td>{last ? (last.statusCode ?? last.errorClass) : "—"}</td>
                      <td className="break">{node.transactionId}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableScroll>
          <nav className="pager" aria-label="Delivery log pages">
            <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              Newer
            </button>
            <button
              type="button"
              disabled={!connection.pageInfo.hasPreviousPage || !connection.pageInfo.startCursor}
              onClick={() => setCursors([...cursors, connection.pageInfo.startCursor ?? undefined])}
            >
              Older
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
