/**
 * Who sends a command or a query, once their sign-in has been checked. Subscribers own what they
 * create; admins see and change everything; auditors see everything and change nothing.
 */
export interface Caller {
  /** EIP-55 checksummed address. */
  readonly address: string;
  readonly role: "subscriber" | "admin" | "auditor";
}

/** Whether the caller may read a resource owned by `owner` (a checksummed address). */
export function canRead(caller: Caller, owner: string): boolean {
  return caller.role !== "subscriber" || caller.address === owner;
}

/** Whether the caller may change a resource owned by `owner`. */
export function canChange(caller: Caller, owner: string): boolean {
  return caller.role === "admin" || (caller.role === "subscriber" && caller.address === owner);
}

/** Whether the caller may open a resource's secrets: only its owner, never an admin or auditor. */
export function canOpenSecrets(caller: Caller, owner: string): boolean {
  return caller.address === owner;
}
