/** One GraphQL request over real HTTP, as a client sends it, with an optional SIWE bearer token. */
export interface GraphqlResponse {
  readonly status: number;
  readonly data?: Record<string, any> | null;
  readonly errors?: readonly { message: string; extensions?: { code?: string; field?: string } }[];
}

export async function postGraphql(baseUrl: string, query: string, variables: object, token?: string): Promise<GraphqlResponse> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphqlResponse, "status">) };
}
