import { ArgsType, type ClassType, Field, Float, ObjectType } from "type-graphql";
import { isResourceId } from "../../domain/plain-text.js";
import type { Page, PageKey, PageRequest } from "../../projections/keyset-page.js";
import { BadUserInputError } from "./errors.js";

/**
 * Relay-style connections: `edges { node cursor }`, `pageInfo`, and `total`, typed as the Asset
 * Register's schema types them (`first`/`last`/`total` are Float there; herald takes whole numbers).
 */

export const MAX_PAGE_SIZE = 100;
/** The Asset Register's default page. */
export const DEFAULT_FIRST = 10;

@ObjectType("PageInfo")
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => Boolean) hasPreviousPage!: boolean;
  @Field(() => String, { nullable: true }) startCursor!: string | null;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
  @Field(() => String, {
    nullable: true,
    description: "The cursor to pass as `after` for the next page; null on the last page.",
  })
  nextPage!: string | null;
}

@ArgsType()
export class ConnectionArgs {
  @Field(() => Float, {
    nullable: true,
    defaultValue: DEFAULT_FIRST,
    description: `A whole number, at most ${MAX_PAGE_SIZE}.`,
  })
  first?: number | null;
  @Field(() => String, { nullable: true }) after?: string | null;
  @Field(() => Float, {
    nullable: true,
    description: `A whole number, at most ${MAX_PAGE_SIZE}; pages from the end, and then first is not used.`,
  })
  last?: number | null;
  @Field(() => String, { nullable: true }) before?: string | null;
}

export interface Connection<Node> {
  edges: { node: Node; cursor: string }[];
  pageInfo: PageInfo;
  total: number;
}

/** The `<Name>Edge` object type of one node type and its connection type (`<Name>Connection` unless named). */
export function connectionType<Node extends object>(
  name: string,
  node: ClassType<Node>,
  connectionName = `${name}Connection`,
): ClassType<Connection<Node>> {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => node) node!: Node;
    @Field(() => String) cursor!: string;
  }
  @ObjectType(connectionName)
  class NodeConnection {
    @Field(() => [Edge]) edges!: Edge[];
    @Field(() => PageInfo) pageInfo!: PageInfo;
    @Field(() => Float, { description: "All items, whatever the page." }) total!: number;
  }
  return NodeConnection;
}

/**
 * Checks the arguments and turns cursors into keys. `first` has a default, so a client asking for
 * `last` alone sends both: `last` decides.
 */
export function pageRequest(args: ConnectionArgs): PageRequest {
  const last = args.last ?? undefined;
  const first = last === undefined ? (args.first ?? DEFAULT_FIRST) : undefined;
  for (const [field, value] of [
    ["first", args.first],
    ["last", last],
  ] as const)
    if (value != null) checkPageSize(field, value);
  return { first, last, after: cursorKey("after", args.after), before: cursorKey("before", args.before) };
}

/**
 * A page size argument of any list: a whole number from 0 to MAX_PAGE_SIZE (typed `Float` where the
 * Asset Register's schema says so), which is also what query costs price it at most.
 */
export function checkPageSize(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_PAGE_SIZE) {
    throw new BadUserInputError(field, `${field} must be a whole number from 0 to ${MAX_PAGE_SIZE}`);
  }
  return value;
}

export function toConnection<Row, Node>(
  page: Page<Row>,
  key: (row: Row) => PageKey,
  node: (row: Row) => Node,
): Connection<Node> {
  const edges = page.rows.map((row) => ({ node: node(row), cursor: encodeCursor(key(row)) }));
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
      nextPage: page.hasNextPage ? (edges.at(-1)?.cursor ?? null) : null,
    },
    total: page.total,
  };
}

function encodeCursor(key: PageKey): string {
  return Buffer.from(`${key.createdAt}:${key.id}`, "utf8").toString("base64url");
}

function cursorKey(field: "after" | "before", cursor: string | null | undefined): PageKey | undefined {
  if (cursor == null) return undefined;
  const match = /^(\d{1,15}):(.+)$/.exec(
    /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, "base64url").toString("utf8") : "",
  );
  if (!match?.[1] || !match[2] || !isResourceId(match[2]))
    throw new BadUserInputError(field, `${field} is not a cursor of this list`);
  return { createdAt: Number(match[1]), id: match[2] };
}
