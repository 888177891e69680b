import { GraphQLError, GraphQLScalarType, Kind } from "graphql";

/**
 * The Asset Register's string-backed scalars, by name, so that operations written against its schema
 * (`$collectionId: CollectionId!`, `$subscriber: ChainAddress`) validate here. Only the kind is
 * checked at this layer; the value's format is the command's to judge (BAD_USER_INPUT naming the field).
 */
function stringScalar(name: string, description: string): GraphQLScalarType<string, string> {
  const refuse = (): never => {
    throw new GraphQLError(`${name} must be a string`);
  };
  return new GraphQLScalarType<string, string>({
    name,
    description,
    serialize: (value) => (typeof value === "string" ? value : refuse()),
    parseValue: (value) => (typeof value === "string" ? value : refuse()),
    parseLiteral: (ast) => (ast.kind === Kind.STRING ? ast.value : refuse()),
  });
}

export const CollectionIdScalar = stringScalar(
  "CollectionId",
  "A collection: `<chainId>:<chainType>:<address>`, e.g. `1:evm:0x6bca6de2dbdc4e0d41f7273011785ea16ba47182`.",
);
export const ChainAddressScalar = stringScalar(
  "ChainAddress",
  "An account address on a chain; herald answers Ethereum addresses EIP-55 checksummed.",
);
