/** An answer of herald's API that carries errors: shown to the user as its message. */
export class ApiError extends Error {
  constructor(
    message: string,
    /** `extensions.code`, e.g. UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, BAD_USER_INPUT. */
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * One POST of JSON to herald's GraphQL API with the bearer token. Plain fetch: the API speaks
 * nothing else, so the console needs no GraphQL client library.
 */
export async function graphqlRequest<T>(
  path: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const response = await fetch(path, {
    method: "POST",
    headers: {
      accept: "application/graphql-response+json, application/json",
      "content-type": "application/json",
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new ApiError(`herald answered ${response.status} ${response.statusText}: ${text.slice(0, 300)}`, undefined);
  }
  const [error] = body.errors ?? [];
  if (error) throw new ApiError(error.message, error.extensions?.code);
  if (!body.data) throw new ApiError(`herald answered ${response.status} without data`, undefined);
  return body.data;
}
