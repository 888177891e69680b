/**
 * What a decider's `decide` returns (decider.ts): the events to append, or why the command is
 * refused. Refusals carry a stable code that the API edge maps to its own error codes.
 */
export type Decision<Event> =
  | { readonly ok: true; readonly events: readonly Event[] }
  | { readonly ok: false; readonly error: Refusal };

export type Refusal =
  /** The command is malformed: `field` names the input field at fault. */
  | { readonly code: "INVALID"; readonly field: string; readonly message: string }
  /** The resource does not exist, or the caller may not see it (existence is not leaked). */
  | { readonly code: "NOT_FOUND"; readonly message: string }
  /** The caller may see the resource but not change it. */
  | { readonly code: "FORBIDDEN"; readonly message: string }
  /** The resource is not in a state that allows the command. */
  | { readonly code: "CONFLICT"; readonly message: string }
  /** The caller has as many of these as they may have (quota.ts). */
  | { readonly code: "QUOTA_EXCEEDED"; readonly message: string };

export const accept = <Event>(...events: Event[]): Decision<Event> => ({ ok: true, events });
export const refuse = <Event>(error: Refusal): Decision<Event> => ({ ok: false, error });
export const invalid = <Event>(field: string, message: string): Decision<Event> =>
  refuse({ code: "INVALID", field, message });
