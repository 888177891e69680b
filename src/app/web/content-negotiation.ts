/** Just enough of HTTP content negotiation (RFC 9110 §12) for the playground's routes. */

/** The entries of an Accept or Accept-Encoding header, in the client's order, with their weights. */
function weights(header: string | undefined): { name: string; q: number }[] {
  if (!header) return [];
  return header.split(",").flatMap((part) => {
    const [name, ...parameters] = part.split(";").map((piece) => piece.trim().toLowerCase());
    if (!name) return [];
    const q = parameters.find((parameter) => parameter.startsWith("q="));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    return [{ name, q: Number.isFinite(weight) ? weight : 0 }];
  });
}

const JSON_TYPES = new Set(["application/json", "application/graphql-response+json"]);

/**
 * A browser navigating to the URL asks for text/html first; GraphQL clients ask for JSON and
 * curl for `*` `/` `*`. Only an explicit text/html that outweighs JSON (or ties and comes first)
 * gets the IDE, as Apollo decides for its landing page.
 */
export function prefersHtml(accept: string | undefined): boolean {
  const entries = weights(accept);
  const html = entries.findIndex((entry) => entry.name === "text/html");
  const htmlEntry = entries[html];
  if (!htmlEntry || htmlEntry.q <= 0) return false;
  return entries.every(
    (entry, index) => !JSON_TYPES.has(entry.name) || entry.q < htmlEntry.q || (entry.q === htmlEntry.q && html < index),
  );
}

export type ContentEncoding = "br" | "gzip" | "identity";

/** Brotli when the client takes it, else gzip, else the bytes as they are. */
export function pickEncoding(acceptEncoding: string | undefined): ContentEncoding {
  const accepted = new Map(weights(acceptEncoding).map((entry) => [entry.name, entry.q]));
  for (const encoding of ["br", "gzip"] as const) if ((accepted.get(encoding) ?? 0) > 0) return encoding;
  return "identity";
}
