/**
 * Global ids for `node(id)`: base64url of `<TypeName>:<id>`, opaque to clients and unique across
 * types.
 */
export type NodeType = "WebhookEndpoint" | "WebhookSubscription";

export function toGlobalId(type: NodeType, id: string): string {
  return Buffer.from(`${type}:${id}`, "utf8").toString("base64url");
}

export function fromGlobalId(globalId: string): { type: NodeType; id: string } | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(globalId)) return undefined;
  const match = /^(WebhookEndpoint|WebhookSubscription):(.+)$/.exec(
    Buffer.from(globalId, "base64url").toString("utf8"),
  );
  if (!match?.[1] || !match[2]) return undefined;
  return { type: match[1] as NodeType, id: match[2] };
}
