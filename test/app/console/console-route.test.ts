import { describe, expect, it } from "vitest";
import { hrefOf, parseRoute, type Route } from "../../../src/app/console/client/console-route.js";

describe("console routes in the URL's fragment", () => {
  it("round-trips every page, ids with reserved characters included", () => {
    const routes: Route[] = [
      { page: "endpoints" },
      { page: "endpoint", webhookId: "6ff1a42a-9174" },
      { page: "recover", webhookId: "a/b c" },
      { page: "audit", webhookId: "x#y" },
      { page: "delivery", deliveryId: "3a27b1ef" },
    ];
    for (const route of routes) expect(parseRoute(hrefOf(route))).toEqual(route);
  });

  it("sends anything else to the endpoints list", () => {
    for (const hash of ["", "#", "#/", "#/nope", "#/endpoints/", "#/deliveries"])
      expect(parseRoute(hash)).toEqual({ page: "endpoints" });
  });
});
