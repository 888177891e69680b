/**
 * The `poison-messages` drill's fault: un-storable and malformed messages of every kind among the
 * drill's 1,000 transactions and among 1,000 tenant events, while a sample of SSE waiters wait and
 * /readyz is polled. Throws (the drill fails) unless every good tenant event is ingested and each
 * waiter answered, every poison recorded as rejected with its code, both consumers empty at the end
 * and /readyz 200 throughout. The transactions' delivery is the scenario's own check.
 */

import { isDeepStrictEqual } from "node:util";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createTenantToken } from "../src/adapters/auth/tenant-token.js";
import { openPostgres } from "../src/adapters/db/database.js";
import type { StoredEvent } from "../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../src/adapters/eventstore/postgres-event-store.js";
import type { HeraldEventType } from "../src/domain/herald-event.js";
import {
  goodTenantEvent,
  goodTransaction,
  type PoisonMessage,
  poisonMessages,
} from "../test/support/poison-messages.js";
import type { DrillContext } from "./scenario.js";

export const POISON_ENV = {
  HERALD_TENANT_JWT_SECRET: "drill-tenant-secret",
  HERALD_MAX_PAYLOAD_BYTES: "65536",
  HERALD_SSE_TIMEOUT_S: "600",
};
const MAX_BYTES = Number(POISON_ENV.HERALD_MAX_PAYLOAD_BYTES);
const TENANT_EVENTS = 1000;
const WAITERS = 100;
/** Each kind of poison this many times on each consumer. */
const COPIES = 5;

export async function poisonFault(context: DrillContext, transactions: number): Promise<string> {
  const herald = context.heralds[0]!;
  const readiness = pollReadiness(herald.url);
  const events = Array.from({ length: TENANT_EVENTS }, () => goodTenantEvent());
  const waiters = await Promise.all(events.slice(0, WAITERS).map((event) => openWaiter(herald.url, event)));
  const txPoison = repeat(poisonMessages(goodTransaction(transactions + 1), MAX_BYTES));
  const tenantPoison = repeat(poisonMessages(goodTenantEvent(), MAX_BYTES));

  const nc = await connect({ servers: context.nats.url });
  try {
    const js = jetstream(nc);
    const publishAll = async (
      messages: readonly { subject: string; body: Uint8Array | string; id: string }[],
      pauseEvery: number,
      pauseMs: number,
    ) => {
      for (const [index, message] of messages.entries()) {
        await js.publish(message.subject, message.body, { msgID: message.id });
        if (index % pauseEvery === 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    };
    const tenantSubject = (event: { wallet_id: string }) => `cloudapi.aries.events.acme.${event.wallet_id}`;
    const every = Math.floor(events.length / tenantPoison.length);
    const tenantMessages = events.flatMap((event, index) => {
      const good = { subject: tenantSubject(event), body: JSON.stringify(event), id: `tenant-good-${index}` };
      const bad = index % every === 0 ? tenantPoison[index / every] : undefined;
      return bad ? [{ subject: tenantSubject(event), body: bad.body, id: `tenant-bad-${index}` }, good] : [good];
    });
    // The transaction poison is spread over the scenario's own publishing of the good transactions.
    await Promise.all([
      publishAll(
        txPoison.map((bad, index) => ({
          subject: "asset-register.transactions",
          body: bad.body,
          id: `tx-bad-${index}`,
        })),
        1,
        50,
      ),
      publishAll(tenantMessages, 25, 10),
    ]);

    await context.acknowledged(transactions);
    const answers = await Promise.all(waiters.map((waiter) => waiter.answer));
    const unanswered = answers.filter(
      (answer, index) => !isDeepStrictEqual(parseOrUndefined(answer), events[index]),
    ).length;

    const store = await readLog(context.postgres.url);
    const received = await store.count("TenantEventReceived", TENANT_EVENTS);
    const txRejected = await store.codes("TransactionRejected", txPoison.length);
    const tenantRejected = await store.codes("TenantEventRejected", tenantPoison.length);
    await store.close();
    const leftOver = await untilConsumersEmpty(context.nats.url);
    const ready = await readiness.stop();

    const problems = [
      unanswered > 0 && `${unanswered} of ${WAITERS} SSE waiters unanswered`,
      received !== TENANT_EVENTS && `${received} of ${TENANT_EVENTS} tenant events received`,
      !sameCodes(txRejected, txPoison) && `transaction rejections ${txRejected.join(",")}`,
      !sameCodes(tenantRejected, tenantPoison) && `tenant-event rejections ${tenantRejected.join(",")}`,
      leftOver && `left on the consumers: ${leftOver}`,
      ready.failed > 0 && `/readyz not 200 ${ready.failed} of ${ready.polls} times`,
    ].filter(Boolean);
    if (problems.length > 0) throw new Error(problems.join("; "));
    return (
      `${txPoison.length} + ${tenantPoison.length} poison messages (${poisonMessages({}, MAX_BYTES).length} kinds × ${COPIES} per consumer) ` +
      `among ${transactions} transactions and ${TENANT_EVENTS} tenant events: all rejected with their code; ` +
      `${TENANT_EVENTS} tenant events received, ${WAITERS}/${WAITERS} SSE waiters answered; consumers empty; /readyz 200 in ${ready.polls}/${ready.polls} polls`
    );
  } finally {
    await nc.close();
    for (const waiter of waiters) waiter.close();
    await readiness.stop();
  }
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function repeat(poison: readonly PoisonMessage[]): PoisonMessage[] {
  return Array.from({ length: COPIES }, () => poison).flat();
}

function sameCodes(found: readonly string[], poison: readonly PoisonMessage[]): boolean {
  return JSON.stringify([...found].sort()) === JSON.stringify(poison.map((message) => message.code).sort());
}

/** GETs /readyz four times a second until stopped; counts every answer that is not 200. */
function pollReadiness(url: string): { stop(): Promise<{ polls: number; failed: number }> } {
  let polls = 0;
  let failed = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const status = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3000) }).then(
        (response) => response.status,
        () => 0,
      );
      polls++;
      if (status !== 200) failed++;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { polls, failed };
    },
  };
}

/** A Waypoint SSE request for exactly this event, answered with its data line (or "" when it closes without). */
async function openWaiter(
  heraldUrl: string,
  event: ReturnType<typeof goodTenantEvent>,
): Promise<{ answer: Promise<string>; close(): void }> {
  const key = createTenantToken(
    POISON_ENV.HERALD_TENANT_JWT_SECRET,
    { kind: "tenant", walletId: event.wallet_id },
    { ttlS: 3600 },
  );
  const controller = new AbortController();
  const url = `${heraldUrl}/v1/sse/${event.wallet_id}/connections/connection_id/${String(event.payload.connection_id)}/completed?look_back=0`;
  const response = await fetch(url, { headers: { "x-api-key": key }, signal: controller.signal });
  if (response.status !== 200 || !response.body) throw new Error(`SSE waiter answered ${response.status}`);
  const reader = response.body.getReader();
  const answer = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += decoder.decode(chunk.value, { stream: true });
      const data = /^data: (.*)\n/m.exec(text);
      if (data) return data[1]!;
    }
    return "";
  })().catch(() => "");
  return { answer, close: () => controller.abort() };
}

/** Reads the drill's event log: how many events of a type, and the codes of the rejections. */
async function readLog(databaseUrl: string) {
  const database = await openPostgres(databaseUrl);
  const store = await createPostgresEventStore(database);
  const ofType = async (type: HeraldEventType, expected: number): Promise<StoredEvent[]> => {
    // Appends become readable a moment after they commit: wait a little for the expected number.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const events = await store.readAll("start", { filter: { eventTypes: [type] }, maxCount: 10_000 });
      if (events.length >= expected || Date.now() > deadline) return events;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  return {
    count: async (type: HeraldEventType, expected: number) => (await ofType(type, expected)).length,
    codes: async (type: HeraldEventType, expected: number) =>
      (await ofType(type, expected)).map((event) => String((event.data as { code?: string }).code)),
    async close() {
      await store.close();
      await database.close();
    },
  };
}

/** Waits until nothing is pending or unacknowledged on herald's two durable consumers; names what is left after 30 s. */
async function untilConsumersEmpty(natsUrl: string): Promise<string | undefined> {
  const nc = await connect({ servers: natsUrl });
  try {
    const manager = await jetstreamManager(nc);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const left: string[] = [];
      // The streams herald attached to or created, found by a subject each carries.
      for (const [subject, durable] of [
        ["asset-register.transactions", "herald-transactions"],
        ["cloudapi.aries.events.acme.drill", "herald-tenant-events"],
      ] as const) {
        const info = await manager.consumers.info(await manager.streams.find(subject), durable);
        if (info.num_pending + info.num_ack_pending > 0)
          left.push(`${durable}: ${info.num_pending} pending, ${info.num_ack_pending} unacknowledged`);
      }
      if (left.length === 0) return undefined;
      if (Date.now() > deadline) return left.join(", ");
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await nc.close();
  }
}
