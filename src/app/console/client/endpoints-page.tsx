import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import {
  ENDPOINTS,
  type Endpoint,
  endpointFiguresQuery,
  FIGURES_PER_REQUEST,
  type PageInfo,
} from "./console-queries.js";
import { hrefOf } from "./console-route.js";
import { useSignedIn } from "./console-session.js";
import { ErrorMessage, formatTime, Loading, StatusBadge, TableScroll } from "./console-ui.js";

const PAGE_SIZE = 25;
const DAY_MS = 86_400_000;

interface Figures {
  readonly subscriptions: number;
  readonly succeeded: number;
  readonly retrying: number;
  readonly failed: number;
  readonly last: { deliveryId: string; scheduledAt: number; status: string } | undefined;
}

/** One aliased connection of endpointFiguresQuery: a `total`, or (`last<i>`) the last delivery. */
interface FiguresField {
  readonly total?: number;
  readonly edges?: readonly { readonly node: NonNullable<Figures["last"]> }[];
}

type SortKey = "url" | "status" | "failingSince" | "rateLimit" | "subscriptions" | "failed" | "last";
type Page = { after?: string; before?: string };

/** Every endpoint the caller may see, a page at a time, with its health and its last day's deliveries. */
export function EndpointsPage() {
  const { request, role } = useSignedIn();
  const [subscriber, setSubscriber] = useState("");
  const [filter, setFilter] = useState("");
  const [page, setPage] = useState<Page>({});
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: "url", descending: false });

  const endpoints = useQuery({
    queryKey: ["endpoints", filter, page],
    queryFn: () =>
      request<{ webhookEndpoints: { total: number; pageInfo: PageInfo; edges: { node: Endpoint }[] } }>(ENDPOINTS, {
        ...(page.before ? { last: PAGE_SIZE, before: page.before } : { first: PAGE_SIZE, after: page.after }),
        subscriber: filter || undefined,
      }),
    placeholderData: keepPreviousData,
    refetchInterval: 10_000,
  });
  const nodes = endpoints.data?.webhookEndpoints.edges.map((edge) => edge.node) ?? [];
  const figures = useQuery({
    queryKey: ["endpoint-figures", nodes.map((node) => node.webhookId)],
    enabled: nodes.length > 0,
    queryFn: async () => {
      const since = new Date(Date.now() - DAY_MS).toISOString();
      const chunks = Array.from({ length: Math.ceil(nodes.length / FIGURES_PER_REQUEST) }, (_, c) =>
        nodes.slice(c * FIGURES_PER_REQUEST, (c + 1) * FIGURES_PER_REQUEST),
      );
      const answers = await Promise.all(
        chunks.map(async (chunk) => {
          const variables = Object.fromEntries(chunk.map((node, index) => [`w${index}`, node.webhookId]));
          const data = await request<Record<string, FiguresField>>(endpointFiguresQuery(chunk.length), {
            ...variables,
            since,
          });
          const total = (alias: string): number => {
            const value = data[alias]?.total;
            if (value === undefined) throw new Error(`the answer has no ${alias}.total`);
            return value;
          };
          return chunk.map((node, i): [string, Figures] => [
            node.webhookId,
            {
              subscriptions: total(`s${i}`),
              succeeded: total(`ok${i}`),
              retrying: total(`pending${i}`) + total(`paused${i}`),
              failed: total(`failed${i}`),
              last: data[`last${i}`]?.edges?.[0]?.node,
            },
          ]);
        }),
      );
      return new Map<string, Figures>(answers.flat());
    },
    refetchInterval: 10_000,
  });

  const sorted = nodes.toSorted((a, b) => {
    const value = (endpoint: Endpoint): string | number => {
      const figure = figures.data?.get(endpoint.webhookId);
      switch (sort.key) {
        case "url":
          return endpoint.url;
        case "status":
          return endpoint.status;
        case "failingSince":
          return endpoint.failingSince ?? 0;
        case "rateLimit":
          return endpoint.rateLimit ?? Number.MAX_SAFE_INTEGER;
        case "subscriptions":
          return figure?.subscriptions ?? 0;
        case "failed":
          return figure?.failed ?? 0;
        case "last":
          return figure?.last?.scheduledAt ?? 0;
      }
    };
    const [x, y] = [value(a), value(b)];
    const order = x < y ? -1 : x > y ? 1 : 0;
    return sort.descending ? -order : order;
  });

  const header = (key: SortKey, label: string) => (
    <th scope="col" aria-sort={sort.key === key ? (sort.descending ? "descending" : "ascending") : "none"}>
      <button
        type="button"
        className="sort"
        onClick={() => setSort({ key, descending: sort.key === key ? !sort.descending : false })}
      >
        {label}
        <span aria-hidden="true">{sort.key === key ? (sort.descending ? " ▼" : " ▲") : " ↕"}</span>
      </button>
    </th>
  );
  const connection = endpoints.data?.webhookEndpoints;

  return (
    <>
      <h1>Webhook endpoints</h1>
      {role !== "SUBSCRIBER" && (
        <form
          className="filters"
          onSubmit={(event) => {
            event.preventDefault();
            setFilter(subscriber.trim());
            setPage({});
          }}
        >
          <label htmlFor="subscriber-filter">Subscriber address</label>
          <input
            id="subscriber-filter"
            value={subscriber}
            onChange={(event) => setSubscriber(event.target.value)}
            placeholder="0x…"
            spellCheck={false}
          />
          <button type="submit">Filter</button>
        </form>
      )}
      <ErrorMessage error={endpoints.error ?? figures.error} />
      {endpoints.isPending ? (
        <Loading what="endpoints" />
      ) : (
        <>
          <p>
            {connection?.total ?? 0} endpoint{connection?.total === 1 ? "" : "s"}
            {filter ? ` of ${filter}` : ""}. Sorting orders the page shown; deliveries are those scheduled in the last
            24 hours.
          </p>
          <TableScroll label="Endpoints">
            <table className="endpoints">
              <caption className="visually-hidden">Webhook endpoints, sortable by column</caption>
              <thead>
                <tr>
                  {header("url", "URL")}
                  {header("status", "Status")}
                  {header("failingSince", "Failing since")}
                  {header("rateLimit", "Rate limit")}
                  {header("subscriptions", "Subscriptions")}
                  {header("failed", "Last 24 h")}
                  {header("last", "Last delivery")}
                </tr>
              </thead>
              <tbody>
                {sorted.map((endpoint) => {
                  const figure = figures.data?.get(endpoint.webhookId);
                  return (
                    <tr key={endpoint.webhookId}>
                      <td className="url">
                        <a href={hrefOf({ page: "endpoint", webhookId: endpoint.webhookId })}>{endpoint.url}</a>
                        {role !== "SUBSCRIBER" && <div className="muted">{endpoint.subscriber}</div>}
                      </td>
                      <td>
                        <StatusBadge status={endpoint.status} detail={endpoint.disabledReason} />
                      </td>
                      <td>{formatTime(endpoint.failingSince)}</td>
                      <td>{endpoint.rateLimit == null ? "none" : `${endpoint.rateLimit}/s`}</td>
                      <td>{figure?.subscriptions ?? "…"}</td>
                      <td>
                        {figure
                          ? `${figure.succeeded} succeeded, ${figure.retrying} retrying, ${figure.failed} failed`
                          : "…"}
                      </td>
                      <td>
                        {figure?.last ? (
                          <a href={hrefOf({ page: "delivery", deliveryId: figure.last.deliveryId })}>
                            {formatTime(figure.last.scheduledAt)} ({figure.last.status.toLowerCase()})
                          </a>
                        ) : figure ? (
                          "none"
                        ) : (
                          "…"
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableScroll>
          <nav className="pager" aria-label="Endpoint pages">
            <button
              type="button"
              disabled={!connection?.pageInfo.hasPreviousPage || !connection.pageInfo.startCursor}
              onClick={() => setPage({ before: connection?.pageInfo.startCursor ?? undefined })}
            >
              Previous page
            </button>
            <button
              type="button"
              disabled={!connection?.pageInfo.hasNextPage || !connection.pageInfo.endCursor}
              onClick={() => setPage({ after: connection?.pageInfo.endCursor ?? undefined })}
            >
              Next page
            </button>
          </nav>
        </>
      )}
    </>
  );
}
