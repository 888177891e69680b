import { useEffect, useState } from "react";

/**
 * The console's pages, addressed by the URL's fragment (`#/endpoints/<id>`): the server serves one
 * page at /console whatever the fragment, and the browser's back button and bookmarks work.
 */
export type Route =
  | { readonly page: "endpoints" }
  | { readonly page: "endpoint"; readonly webhookId: string }
  | { readonly page: "recover"; readonly webhookId: string }
  | { readonly page: "audit"; readonly webhookId: string }
  | { readonly page: "delivery"; readonly deliveryId: string };

export function parseRoute(hash: string): Route {
  const [first, id, sub] = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (first === "endpoints" && id) {
    if (sub === "recover") return { page: "recover", webhookId: id };
    if (sub === "audit") return { page: "audit", webhookId: id };
    return { page: "endpoint", webhookId: id };
  }
  if (first === "deliveries" && id) return { page: "delivery", deliveryId: id };
  return { page: "endpoints" };
}

export function hrefOf(route: Route): string {
  switch (route.page) {
    case "endpoints":
      return "#/endpoints";
    case "endpoint":
      return `#/endpoints/${encodeURIComponent(route.webhookId)}`;
    case "recover":
    case "audit":
      return `#/endpoints/${encodeURIComponent(route.webhookId)}/${route.page}`;
    case "delivery":
      return `#/deliveries/${encodeURIComponent(route.deliveryId)}`;
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => {
      setRoute(parseRoute(window.location.hash));
      window.scrollTo(0, 0);
    };
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
