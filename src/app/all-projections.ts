import type { Logger } from "pino";
import type { EventStore } from "../adapters/eventstore/event-store.js";
import { deliveryHistoryProjection } from "../projections/delivery-history.js";
import { deliveryQueueProjection } from "../projections/delivery-queue.js";
import type { AnyProjection } from "../projections/projection.js";
import { recoveryRequestsProjection } from "../projections/recovery-requests.js";
import { walletGroupsProjection } from "../projections/wallet-groups.js";
import { webhookEndpointsProjection } from "../projections/webhook-endpoints.js";
import { webhookSubscriptionsProjection } from "../projections/webhook-subscriptions.js";
import { dispatcherProjection } from "../reactions/dispatch-auditor.js";
import { endpointHealthProjection } from "../reactions/endpoint-health.js";
import type { Config } from "./config.js";

/**
 * Every read model herald keeps, and the reactors: the dispatcher (DeliveryScheduled) and endpoint
 * health (WebhookEndpointFailing, Recovered, Disabled) append, so they need the store.
 */
export function allProjections(deps: {
  readonly store: EventStore;
  readonly logger: Logger;
  readonly config: Pick<Config, "endpointDisableAfterS">;
  /** Told of deliveries the dispatch auditor had to schedule itself (metrics). */
  readonly onDispatchRepairs?: (count: number) => void;
}): { readonly projections: AnyProjection[]; readonly reactors: AnyProjection[] } {
  return {
    projections: [
      webhookEndpointsProjection,
      webhookSubscriptionsProjection,
      deliveryQueueProjection(),
      deliveryHistoryProjection,
      walletGroupsProjection(),
      recoveryRequestsProjection,
    ],
    reactors: [
      dispatcherProjection({
        store: deps.store,
        logger: deps.logger.child({ component: "dispatcher" }),
        ...(deps.onDispatchRepairs ? { onRepairs: deps.onDispatchRepairs } : {}),
      }),
      endpointHealthProjection({
        store: deps.store,
        rules: { disableAfterMs: deps.config.endpointDisableAfterS * 1000 },
        logger: deps.logger.child({ component: "endpoint-health" }),
      }),
    ],
  };
}
