import { ArgsType, type ClassType, Field, Int, ObjectType } from "type-graphql";
import { isResourceId } from "../../domain/plain-text.js";
import type { Page, PageKey, PageRequest } from "../../projections/keyset-page.js";
import { BadUserInputError } from "./errors.js";

/** Relay-style connections: `edges { node cursor }`, `pageInfo`, and `total`. */

export const MAX_PAGE_SIZE = 100;

@ObjectType("PageInfo")
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => Boolean) hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ArgsType()
export class ConnectionArgs {
  @Field(() => Int, { nullable: true, description: `At most ${MAX_PAGE_SIZE}.` }) first?: number | null;
  @Field(() => String, { nullable: true }) after?: string | null;
  @Field(() => Int, { nullable: true, description: `At most ${MAX_PAGE_SIZE}.` }) last?: number | null;
  @Field(() => String, { nullable: true }) before?: string | null;
}

export interface Connection<Node> {
  edges: { node: Node; cursor: string }[];
  pageInfo: PageInfo;
  total: number;
}

/** The `<Name>Connection` and `<Name>Edge` object types of one node type. */
export function connectionType<Node extends object>(name: string, node: ClassType<Node>): ClassType<Connection<Node>> {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => node) node!: Node;
    @Field(() => String) cursor!: string;
  }
  @ObjectType(`${name}Connection`)
  class NodeConnection {
    @Field(() => [Edge]) edges!: Edge[];
    @Field(() => PageInfo) pageInfo!: PageInfo;
    @Field(() => Int, { description: "All items, whatever the page." }) total!: number;
  }
  return NodeConnection;
}

/** Checks the arguments and turns cursors into keys. */
export function pageRequest(args: ConnectionArgs): PageRequest {
  const first = args.first ?? undefined;
  const last = args.last ?? undefined;
  if (first !== undefined && last !== undefined) throw new BadUserInputError("last", "give first or last, not both");
  for (const [field, value] of [["first", first], ["last", last]] as const) if (value !== undefined) checkPageSize(field, value);
  return { first, last, after: cursorKey("after", args.after), before: cursorKey("before", args.before) };
}

/** A page size argument of any list: 0 to MAX_PAGE_SIZE, which is also what query costs price it at most. */
export function checkPageSize(field: string, value: number): number {
  if (value < 0 || value > MAX_PAGE_SIZE) throw new BadUserInputError(field, `${field} must be from 0 to ${MAX_PAGE_SIZE}`);
  return value;
}

export function toConnection<Row, Node>(page: Page<Row>, key: (row: Row) => PageKey, node: (row: Row) => Node): Connection<Node> {
  const edges = page.rows.map((row) => ({ node: node(row), cursor: encodeCursor(key(row)) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    total: page.total,
  };
}

function encodeCursor(key: PageKey): string {
  return Buffer.from(`${key.createdAt}:${key.id}`, "utf8").toString("base64url");
}

function cursorKey(field: "after" | "before", cursor: string | null | undefined): PageKey | undefined {
  if (cursor == null) return undefined;
  const match = /^(\d{1,15}):(.+)$/.exec(/^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, "base64url").toString("utf8") : "");
  if (!match?.[1] || !match[2] || !isResourceId(match[2])) throw new BadUserInputError(field, `${field} is not a cursor of this list`);
  return { createdAt: Number(match[1]), id: match[2] };
}
