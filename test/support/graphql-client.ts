import type { PrivateKeyAccount } from "viem/accounts";
import { signedToken } from "./siwe.js";

export interface GraphqlResponse {
  readonly status: number;
  readonly data?: Record<string, any> | null;
  readonly errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

export type GraphqlCall = (query: string, variables: object, account: PrivateKeyAccount) => Promise<GraphqlResponse>;

/** POSTs to herald's /graphql signed in as an account (one SIWE token per account, made once). */
export function graphqlClient(url: string, domain: string): GraphqlCall {
  const tokens = new Map<PrivateKeyAccount, Promise<string>>();
  return async (query, variables, account) => {
    let token = tokens.get(account);
    if (!token) {
      token = signedToken(account, domain);
      tokens.set(account, token);
    }
    const response = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${await token}` },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as Omit<GraphqlResponse, "status">) };
  };
}

export const errorCode = (response: GraphqlResponse): string | undefined => response.errors?.[0]?.extensions?.code;
