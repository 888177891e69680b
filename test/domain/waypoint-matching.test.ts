import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TenantEvent } from "../../src/domain/ingest-events.js";
import {
  eventAnswersWait,
  eventInScope,
  inWaitedGroup,
  mayWaitOn,
  payloadFieldText,
  type WaypointWait,
  waitKeyOfEvent,
  waitKeyOfWait,
} from "../../src/domain/waypoint-matching.js";
import { fixtureTenantEvents } from "../support/fixtures.js";

const [connectionCompleted, proofDone, otherGroupCredential] = fixtureTenantEvents() as [
  TenantEvent,
  TenantEvent,
  TenantEvent,
];

const waitFor = (event: TenantEvent, field: string, overrides: Partial<WaypointWait> = {}): WaypointWait => ({
  walletId: event.wallet_id,
  topic: event.topic,
  field,
  fieldId: String(event.payload[field]),
  desiredState: String(event.payload.state),
  ...overrides,
});

describe("topics", () => {
  it("given a topic the documentation does not list (acapy-cloud publishes basic-message), then it is a wait like any other", () => {
    const message: TenantEvent = {
      ...connectionCompleted,
      topic: "basic-message",
      payload: { connection_id: "c1", state: "received" },
    };
    expect(eventAnswersWait(message, waitFor(message, "connection_id"))).toBe(true);
    expect(eventAnswersWait(message, waitFor(message, "connection_id", { topic: "basic-messages" }))).toBe(false);
  });
});

describe("group_id", () => {
  it("given a wait naming a group, then only an event of that group answers it", () => {
    expect(
      eventAnswersWait(
        connectionCompleted,
        waitFor(connectionCompleted, "connection_id", { groupId: connectionCompleted.group_id! }),
      ),
    ).toBe(true);
    expect(
      eventAnswersWait(connectionCompleted, waitFor(connectionCompleted, "connection_id", { groupId: "another" })),
    ).toBe(false);
    expect(
      inWaitedGroup(
        { ...connectionCompleted, group_id: undefined },
        waitFor(connectionCompleted, "connection_id", { groupId: "acme" }),
      ),
    ).toBe(false);
    expect(
      inWaitedGroup({ ...connectionCompleted, group_id: undefined }, waitFor(connectionCompleted, "connection_id")),
    ).toBe(true);
  });
});

describe("eventAnswersWait", () => {
  it("given a connection that completed, when waiting on its connection_id for completed, then it answers", () => {
    expect(eventAnswersWait(connectionCompleted, waitFor(connectionCompleted, "connection_id"))).toBe(true);
  });

  it("given a proof that is done, when waiting on its proof_id or thread_id, then either answers", () => {
    expect(eventAnswersWait(proofDone, waitFor(proofDone, "proof_id"))).toBe(true);
    expect(eventAnswersWait(proofDone, waitFor(proofDone, "thread_id"))).toBe(true);
  });

  it.each([
    ["another wallet", { walletId: "someone-else" }],
    ["another topic", { topic: "proofs" as const }],
    ["another state", { desiredState: "request-sent" }],
    ["another id", { fieldId: "not-this-one" }],
  ])("given a matching event, when the wait asks for %s, then it does not answer", (_name, overrides) => {
    expect(eventAnswersWait(connectionCompleted, waitFor(connectionCompleted, "connection_id", overrides))).toBe(false);
  });

  it("given a numeric or boolean field, when waiting on its string form, then it answers", () => {
    const event: TenantEvent = { ...proofDone, payload: { ...proofDone.payload, attempt: 3, verified: true } };
    expect(eventAnswersWait(event, waitFor(event, "attempt", { fieldId: "3" }))).toBe(true);
    expect(eventAnswersWait(event, waitFor(event, "verified", { fieldId: "true" }))).toBe(true);
  });

  it("given a nested field, when waiting on its dotted path, then it answers", () => {
    const event: TenantEvent = {
      ...proofDone,
      payload: { ...proofDone.payload, presentation: { request: { id: 42 } } },
    };
    expect(eventAnswersWait(event, waitFor(event, "presentation.request.id", { fieldId: "42" }))).toBe(true);
    expect(eventAnswersWait(event, waitFor(event, "presentation.missing.id", { fieldId: "42" }))).toBe(false);
  });
});

describe("payloadFieldText", () => {
  it("gives nothing for objects, arrays, null and missing fields, so they never match", () => {
    const payload = { object: { a: 1 }, list: [1], nothing: null };
    for (const field of ["object", "list", "nothing", "absent", "list.0"])
      expect(payloadFieldText(payload, field)).toBeUndefined();
  });

  it("finds a literal field name that contains a dot before walking", () => {
    expect(payloadFieldText({ "a.b": "literal", a: { b: "nested" } }, "a.b")).toBe("literal");
  });

  it("does not walk into inherited properties", () => {
    expect(payloadFieldText({}, "constructor")).toBeUndefined();
    expect(payloadFieldText({ a: {} }, "a.toString")).toBeUndefined();
  });
});

describe("waitKey", () => {
  it("given any event and a wait it answers, then both yield the same index key", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.string(),
        fc.string(),
        fc.string(),
        (wallet, topic, field, id, state) => {
          const event: TenantEvent = { wallet_id: wallet, topic, payload: { [field]: id, state } };
          const wait: WaypointWait = { walletId: wallet, topic, field, fieldId: id, desiredState: state };
          if (eventAnswersWait(event, wait)) expect(waitKeyOfEvent(event)).toBe(waitKeyOfWait(wait));
        },
      ),
    );
  });

  it("keeps parts apart whatever they contain", () => {
    const a = waitKeyOfWait({ walletId: "a|b", topic: "oob", field: "f", fieldId: "1", desiredState: "c" });
    const b = waitKeyOfWait({ walletId: "a", topic: "oob", field: "f", fieldId: "1", desiredState: "b|c" });
    expect(a).not.toBe(b);
  });

  it("gives no key to an event without a string state", () => {
    expect(waitKeyOfEvent({ ...proofDone, payload: { proof_id: "p" } })).toBeUndefined();
  });
});

describe("scope", () => {
  const tenant = { kind: "tenant" as const, walletId: connectionCompleted.wallet_id };
  const acmeAdmin = { kind: "tenant-admin" as const, groupId: "acme" };

  it("given a tenant key, then it may wait on its own wallet only", () => {
    expect(mayWaitOn(tenant, connectionCompleted.wallet_id, "acme")).toEqual({ ok: true });
    expect(mayWaitOn(tenant, otherGroupCredential.wallet_id, undefined)).toEqual({
      ok: false,
      reason: "foreign-wallet",
    });
  });

  it("given a tenant-admin key, when the wallet is known in another group, then it may not wait on it", () => {
    expect(mayWaitOn(acmeAdmin, otherGroupCredential.wallet_id, "globex")).toEqual({
      ok: false,
      reason: "wallet-of-another-group",
    });
    expect(mayWaitOn(acmeAdmin, connectionCompleted.wallet_id, "acme")).toEqual({ ok: true });
    expect(mayWaitOn(acmeAdmin, "never-seen", undefined)).toEqual({ ok: true });
  });

  it("given a tenant-admin key, then only events of its group are in scope", () => {
    expect(eventInScope(connectionCompleted, acmeAdmin)).toBe(true);
    expect(eventInScope(otherGroupCredential, acmeAdmin)).toBe(false);
    expect(eventInScope({ ...connectionCompleted, group_id: undefined }, acmeAdmin)).toBe(false);
  });

  it("given the static tenant-admin key, then it may wait on any wallet and every event is in scope", () => {
    const keyAdmin = { kind: "tenant-admin-key" as const };
    expect(mayWaitOn(keyAdmin, otherGroupCredential.wallet_id, "globex")).toEqual({ ok: true });
    expect(eventInScope(otherGroupCredential, keyAdmin)).toBe(true);
    expect(eventInScope({ ...connectionCompleted, group_id: undefined }, keyAdmin)).toBe(true);
  });

  it("given a tenant key, then only its wallet's events are in scope", () => {
    expect(eventInScope(connectionCompleted, tenant)).toBe(true);
    expect(eventInScope(otherGroupCredential, tenant)).toBe(false);
  });
});
