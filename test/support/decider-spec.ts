import { expect } from "vitest";
import type { Caller } from "../../src/domain/caller.js";
import type { Decider } from "../../src/domain/decider.js";
import type { Decision, Refusal } from "../../src/domain/decision.js";

/**
 * Given/when/then for deciders (after emmett's DeciderSpecification): given the events an
 * aggregate's stream holds, when a command comes, then it decides exactly these events, or is
 * refused with this code.
 *
 *   const given = deciderSpec(deliveryDecider);
 *   given(scheduled).when(attempt).thenDecides(attempted, retryScheduled).when(attempt).thenDecides(...);
 *
 * `thenDecides` goes on from the stream with the decided events appended, so a spec reads as the
 * life of one aggregate. (No method is called `then`: an object with one is a thenable.)
 */
export function deciderSpec<Command, Event, State>(
  decider: Decider<Command, Event, State>,
): (...events: Event[]) => Given<Command, Event, State> {
  const given = (...events: Event[]): Given<Command, Event, State> => {
    const state = events.reduce(decider.evolve, decider.initialState);
    return {
      state,
      when: (command) => {
        const decision = decider.decide(command, state);
        return {
          decision,
          thenDecides: (...decided) => {
            expect(decision).toEqual({ ok: true, events: decided });
            return given(...events, ...decided);
          },
          thenRefuses: (code, details = {}) => {
            expect(decision).toEqual({
              ok: false,
              error: {
                code,
                message: expect.any(String),
                ...(code === "INVALID" ? { field: expect.any(String) } : {}),
                ...details,
              },
            });
            return given(...events);
          },
        };
      },
    };
  };
  return given;
}

export interface Given<Command, Event, State> {
  /** What the events fold to. */
  readonly state: State;
  readonly when: (command: Command) => When<Command, Event, State>;
}

export interface When<Command, Event, State> {
  /** For the rare assertion on part of an event; prefer thenDecides. */
  readonly decision: Decision<Event>;
  /** The command decides exactly these events (none: it changes nothing). */
  readonly thenDecides: (...events: Event[]) => Given<Command, Event, State>;
  /** The command is refused with this code; `details` pins the refusal's other fields (field, message). */
  readonly thenRefuses: (
    code: Refusal["code"],
    details?: { readonly field?: string; readonly message?: unknown },
  ) => Given<Command, Event, State>;
}

/** Callers of the domain tests: an endpoint's owner, another subscriber, an admin and an auditor. */
export const owner: Caller = { address: "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A", role: "subscriber" };
export const stranger: Caller = { address: "0x1563915e194D8CfBA1943570603F7606A3115508", role: "subscriber" };
export const admin: Caller = { address: "0x5CbDd86a2FA8Dc4bDdd8a8f69dBa48572EeC07FB", role: "admin" };
export const auditor: Caller = { address: "0x7564105E977516C53bE337314c7E53838967bDaC", role: "auditor" };
