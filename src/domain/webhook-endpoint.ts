import { type Caller, canChange, canRead } from "./caller.js";
import type { Decider } from "./decider.js";
import { accept, type Decision, invalid, refuse } from "./decision.js";
import { checkWebhookUrl } from "./network-address.js";
import { isPlainText } from "./plain-text.js";
import { type Quota, quotaRefusal } from "./quota.js";
import { checkRateLimit } from "./rate-limit.js";
import type { EndpointDisabledReason, Sealed, WebhookEndpointEvent } from "./webhook-events.js";

/**
 * The webhook endpoint aggregate (stream `endpoint-<webhookId>`): where deliveries go, how often
 * they are retried, and the sealed API key and signing secret they carry.
 */
export interface WebhookEndpoint {
  readonly webhookId: string;
  readonly subscriber: string;
  readonly url: string;
  readonly retries: number;
  /** Attempts per second at most (rate-limit.ts); undefined: no limit. */
  readonly rateLimit: number | undefined;
  readonly apiKey: Sealed;
  readonly signingSecret: Sealed;
  readonly createdAt: number;
  readonly paused: boolean;
  readonly deleted: boolean;
  /** When deliveries started failing without a success since (ms since the epoch); undefined when healthy. */
  readonly failingSince: number | undefined;
  /** Set when herald disabled the endpoint; resuming clears it. */
  readonly disabledReason: EndpointDisabledReason | undefined;
  /**
   * Delivery outcomes observed before this time (ms) say nothing about the endpoint as it is now:
   * it was created or resumed since. Health decisions ignore them (see endpoint-health.ts).
   */
  readonly healthFrom: number;
}

/** Undefined until the endpoint is created. */
export type WebhookEndpointState = WebhookEndpoint | undefined;

export const DEFAULT_RETRIES = 5;
export const MAX_RETRIES = 20;

/**
 * Commands carry everything decide needs, secrets already generated and sealed, so that decide
 * stays pure; `caller` is who sends it.
 */
export type WebhookEndpointCommand = (
  | {
      readonly type: "CreateWebhookEndpoint";
      readonly webhookId: string;
      readonly url: string;
      readonly retries?: number | null;
      readonly rateLimit?: number | null;
      readonly apiKey: Sealed;
      readonly signingSecret: Sealed;
      readonly now: number;
      /** The caller's live endpoints: the new one is the caller's own, whatever their role. */
      readonly quota?: Quota;
    }
  | {
      readonly type: "UpdateWebhookEndpoint";
      readonly webhookId: string;
      readonly url?: string | null;
      readonly retries?: number | null;
      /** Unlike the other fields, null is a change here: it removes the limit. Undefined keeps it. */
      readonly rateLimit?: number | null;
    }
  | {
      readonly type: "RotateWebhookEndpointApiKey";
      readonly webhookId: string;
      readonly apiKey: Sealed;
      readonly signingSecret: Sealed;
    }
  | { readonly type: "PauseWebhookEndpoint"; readonly webhookId: string }
  | { readonly type: "ResumeWebhookEndpoint"; readonly webhookId: string; readonly now: number }
  | { readonly type: "DeleteWebhookEndpoint"; readonly webhookId: string }
) & { readonly caller: Caller };

export interface WebhookEndpointRules {
  readonly allowPrivateTargets: boolean;
}

/** The webhook endpoint aggregate's decider, under the deployment's rules for target URLs. */
export const webhookEndpointDecider = (
  rules: WebhookEndpointRules,
): Decider<WebhookEndpointCommand, WebhookEndpointEvent, WebhookEndpointState> => ({
  decide: (command, state) => decideWebhookEndpoint(command, state, rules),
  evolve: evolveWebhookEndpoint,
  initialState: undefined,
});

function decideWebhookEndpoint(
  command: WebhookEndpointCommand,
  state: WebhookEndpointState,
  rules: WebhookEndpointRules,
): Decision<WebhookEndpointEvent> {
  const { webhookId, caller } = command;
  if (command.type === "CreateWebhookEndpoint") {
    if (caller.role === "auditor")
      return refuse({ code: "FORBIDDEN", message: "auditors cannot create webhook endpoints" });
    const url = checkUrl(command.url, rules);
    if (!url.ok) return url.refusal;
    const retries = checkRetries(command.retries ?? DEFAULT_RETRIES);
    if (!retries.ok) return retries.refusal;
    const rateLimit = checkRateLimit(command.rateLimit ?? null);
    if (!rateLimit.ok) return rateLimit.refusal;
    if (state) return refuse({ code: "CONFLICT", message: `webhook endpoint ${webhookId} already exists` });
    const overQuota = quotaRefusal(
      command.quota,
      "webhook endpoints per subscriber",
      "delete an endpoint you no longer need",
    );
    if (overQuota) return refuse(overQuota);
    return accept({
      type: "WebhookEndpointCreated",
      data: {
        webhookId,
        subscriber: caller.address,
        url: url.value,
        retries: retries.value,
        // Absent rather than null when there is no limit, as in events written before limits existed.
        ...(rateLimit.value === null ? {} : { rateLimit: rateLimit.value }),
        apiKey: command.apiKey,
        signingSecret: command.signingSecret,
        createdAt: command.now,
      },
    });
  }

  if (!state || state.deleted || !canRead(caller, state.subscriber)) {
    return refuse({ code: "NOT_FOUND", message: `webhook endpoint ${webhookId} not found` });
  }
  if (!canChange(caller, state.subscriber)) {
    return refuse({ code: "FORBIDDEN", message: `not allowed to change webhook endpoint ${webhookId}` });
  }

  switch (command.type) {
    case "UpdateWebhookEndpoint": {
      const changes: { url?: string; retries?: number; rateLimit?: number | null } = {};
      if (command.url != null) {
        const url = checkUrl(command.url, rules);
        if (!url.ok) return url.refusal;
        if (url.value !== state.url) changes.url = url.value;
      }
      if (command.retries != null) {
        const retries = checkRetries(command.retries);
        if (!retries.ok) return retries.refusal;
        if (retries.value !== state.retries) changes.retries = retries.value;
      }
      if (command.rateLimit !== undefined) {
        const rateLimit = checkRateLimit(command.rateLimit);
        if (!rateLimit.ok) return rateLimit.refusal;
        if (rateLimit.value !== (state.rateLimit ?? null)) changes.rateLimit = rateLimit.value;
      }
      // Nothing to change is not an error: the command is idempotent.
      if (Object.keys(changes).length === 0) return accept();
      return accept({ type: "WebhookEndpointUpdated", data: { webhookId, ...changes } });
    }
    case "RotateWebhookEndpointApiKey":
      return accept({
        type: "WebhookEndpointApiKeyRotated",
        data: { webhookId, apiKey: command.apiKey, signingSecret: command.signingSecret },
      });
    case "PauseWebhookEndpoint":
      return state.paused ? accept() : accept({ type: "WebhookEndpointPaused", data: { webhookId } });
    case "ResumeWebhookEndpoint":
      // Resuming also enables an endpoint that herald disabled: its owner says it works again.
      return state.paused || state.disabledReason
        ? accept({ type: "WebhookEndpointResumed", data: { webhookId, at: command.now } })
        : accept();
    case "DeleteWebhookEndpoint":
      return accept({ type: "WebhookEndpointDeleted", data: { webhookId } });
  }
}

export function evolveWebhookEndpoint(state: WebhookEndpointState, event: WebhookEndpointEvent): WebhookEndpointState {
  if (event.type === "WebhookEndpointCreated") {
    return {
      ...event.data,
      rateLimit: event.data.rateLimit,
      paused: false,
      deleted: false,
      failingSince: undefined,
      disabledReason: undefined,
      healthFrom: event.data.createdAt,
    };
  }
  // Events of a stream that was never created cannot happen; ignoring them keeps evolve total.
  if (!state) return state;
  switch (event.type) {
    case "WebhookEndpointUpdated":
      return {
        ...state,
        url: event.data.url ?? state.url,
        retries: event.data.retries ?? state.retries,
        rateLimit: event.data.rateLimit === undefined ? state.rateLimit : (event.data.rateLimit ?? undefined),
      };
    case "WebhookEndpointApiKeyRotated":
      return { ...state, apiKey: event.data.apiKey, signingSecret: event.data.signingSecret };
    case "WebhookEndpointPaused":
      return { ...state, paused: true };
    case "WebhookEndpointResumed":
      return {
        ...state,
        paused: false,
        disabledReason: undefined,
        failingSince: undefined,
        healthFrom: event.data.at ?? state.healthFrom,
      };
    case "WebhookEndpointDeleted":
      return { ...state, deleted: true };
    case "WebhookEndpointFailing":
      return { ...state, failingSince: event.data.since };
    case "WebhookEndpointRecovered":
      return { ...state, failingSince: undefined };
    case "WebhookEndpointDisabled":
      return { ...state, disabledReason: event.data.reason };
  }
}

type Checked<T> = { ok: true; value: T } | { ok: false; refusal: Decision<never> };

function checkUrl(raw: string, rules: WebhookEndpointRules): Checked<string> {
  if (!isPlainText(raw)) return { ok: false, refusal: invalid("url", "url must not contain control characters") };
  const checked = checkWebhookUrl(raw, rules.allowPrivateTargets);
  return checked.ok ? { ok: true, value: raw } : { ok: false, refusal: invalid("url", checked.reason) };
}

function checkRetries(retries: number): Checked<number> {
  if (!Number.isInteger(retries) || retries < 0 || retries > MAX_RETRIES) {
    return { ok: false, refusal: invalid("retries", `retries must be a whole number from 0 to ${MAX_RETRIES}`) };
  }
  return { ok: true, value: retries };
}
