import type { PrivateKeyAccount } from "viem/accounts";
import { signedToken } from "./siwe.js";

export interface GraphqlResponse {
  readonly status: number;
  readonly data?: Record<string, any> | null;
  readonly errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

export type GraphqlCall = (query: string, variables: object, account: PrivateKeyAccount) => Promise<GraphqlResponse>;

/** POSTs to herald's /graphql with any bearer token, or none: for refused, expired and malformed ones. */
export async function postGraphql(
  url: string,
  query: string,
  variables: object,
  token?: string,
): Promise<GraphqlResponse> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphqlResponse, "status">) };
}

/** POSTs to herald's /graphql signed in as an account (one SIWE token per account, made once). */
export function graphqlClient(url: string, domain: string): GraphqlCall {
  const tokens = new Map<PrivateKeyAccount, Promise<string>>();
  return async (query, variables, account) => {
    let token = tokens.get(account);
    if (!token) {
      token = signedToken(account, domain);
      tokens.set(account, token);
    }
    return postGraphql(url, query, variables, await token);
  };
}

export const errorCode = (response: GraphqlResponse): string | undefined => response.errors?.[0]?.extensions?.code;
