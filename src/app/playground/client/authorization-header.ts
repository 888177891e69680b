/**
 * The IDE's header editor holds a JSON object as text. Signing in sets its `authorization` entry
 * and leaves the others as they are.
 */
export function withBearerToken(headersText: string, token: string): string {
  const headers = parseHeaders(headersText);
  for (const name of Object.keys(headers)) if (name.toLowerCase() === "authorization") delete headers[name];
  return JSON.stringify({ ...headers, authorization: `Bearer ${token}` }, null, 2);
}

/** True when the headers already carry this token (so the editor need not be rewritten). */
export function hasBearerToken(headersText: string, token: string): boolean {
  try {
    return Object.entries(parseHeaders(headersText)).some(
      ([name, value]) => name.toLowerCase() === "authorization" && value === `Bearer ${token}`,
    );
  } catch {
    return false;
  }
}

function parseHeaders(text: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error("the headers are not valid JSON: fix them, then sign in again");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error("the headers must be a JSON object: fix them, then sign in again");
  }
  return parsed as Record<string, unknown>;
}
