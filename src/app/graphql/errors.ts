import { GraphQLError } from "graphql";
import type { Refusal } from "../../domain/decision.js";

/**
 * The errors the GraphQL API answers with, each with a stable `extensions.code`. Anything else a
 * resolver throws is a fault of ours and leaves as a masked INTERNAL_SERVER_ERROR.
 */
export class UnauthenticatedError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: "UNAUTHENTICATED" } });
  }
}

export class ForbiddenError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: "FORBIDDEN" } });
  }
}

export class BadUserInputError extends GraphQLError {
  constructor(field: string, message: string) {
    super(message, { extensions: { code: "BAD_USER_INPUT", field } });
  }
}

export class NotFoundError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: "NOT_FOUND" } });
  }
}

export class ConflictError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: "CONFLICT" } });
  }
}

export class QuotaExceededError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: "QUOTA_EXCEEDED" } });
  }
}

/** The codes a client may see; everything else is masked. */
export const PUBLIC_ERROR_CODES: ReadonlySet<string> = new Set([
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "BAD_USER_INPUT",
  "NOT_FOUND",
  "CONFLICT",
  "QUOTA_EXCEEDED",
  // Apollo's own answers to malformed requests.
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
]);

/** A domain refusal as the API's error. */
export function refusalError(refusal: Refusal): GraphQLError {
  switch (refusal.code) {
    case "INVALID":
      return new BadUserInputError(refusal.field, refusal.message);
    case "NOT_FOUND":
      return new NotFoundError(refusal.message);
    case "FORBIDDEN":
      return new ForbiddenError(refusal.message);
    case "CONFLICT":
      return new ConflictError(refusal.message);
    case "QUOTA_EXCEEDED":
      return new QuotaExceededError(refusal.message);
  }
}
