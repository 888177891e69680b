import { Ctx, Field, ObjectType, Query, Resolver, registerEnumType } from "type-graphql";
import type { Caller } from "../../domain/caller.js";
import { callerOf, type GraphqlContext } from "./context.js";

enum ViewerRole {
  SUBSCRIBER = "subscriber",
  ADMIN = "admin",
  AUDITOR = "auditor",
}

registerEnumType(ViewerRole, {
  name: "ViewerRole",
  valuesConfig: {
    SUBSCRIBER: { description: "Sees and changes the endpoints and subscriptions it created." },
    ADMIN: { description: "Sees and changes everything (HERALD_ADMIN_ADDRESSES)." },
    AUDITOR: { description: "Sees everything and changes nothing (HERALD_AUDITOR_ADDRESSES)." },
  },
});

@ObjectType("Viewer", { description: "Who the token signs in, and what herald lets them do." })
class ViewerType {
  @Field(() => String, { description: "EIP-55 checksummed address." }) address!: string;
  @Field(() => ViewerRole) role!: ViewerRole;
}

const ROLES: Readonly<Record<Caller["role"], ViewerRole>> = {
  subscriber: ViewerRole.SUBSCRIBER,
  admin: ViewerRole.ADMIN,
  auditor: ViewerRole.AUDITOR,
};

/** Lets a client (the console) say who is signed in and show only the controls the role may use. */
@Resolver()
export class ViewerResolver {
  @Query(() => ViewerType, {
    description:
      "The signed-in caller: address and role. Refused (UNAUTHENTICATED, with the reason) for a missing, expired or malformed token.",
  })
  viewer(@Ctx() context: GraphqlContext): ViewerType {
    const caller = callerOf(context);
    return { address: caller.address, role: ROLES[caller.role] };
  }
}
