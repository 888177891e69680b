import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { Database } from "../adapters/db/database.js";
import type { AnyEvent, EventStore, ReadFrom } from "../adapters/eventstore/event-store.js";
import type { LogConsumer, LogPump, PumpPage } from "../adapters/eventstore/log-pump.js";
import { comparePositions, positionToJSON } from "../adapters/eventstore/position.js";
import { getOrCreate } from "../domain/get-or-create.js";
import type { HeraldEvent } from "../domain/herald-event.js";
import { CheckpointMovedError, readCheckpoint, readCheckpoints } from "./checkpoints.js";
import { type AnyProjection, ProjectionHandlerError } from "./projection.js";
import { applyBatch, applyGroupBatch, type BatchSlice, prepareProjection } from "./projection-batch.js";

export type ProjectionState = "starting" | "standby" | "running" | "retrying" | "stopped";

export class ProjectionTimeoutError extends Error {
  readonly code = "PROJECTION_TIMEOUT";
  constructor(projection: string, position: ReadFrom, timeoutMs: number) {
    super(`projection ${projection} did not reach ${positionToJSON(position)} within ${timeoutMs} ms`);
    this.name = "ProjectionTimeoutError";
  }
}

/** The database lock of the group's leader: one for every projection. */
export const PROJECTIONS_LOCK = "projections";

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 30_000;

/** One projection of a group, as its readers see it: where it is, and read-your-writes. */
export class ProjectionMember<E extends AnyEvent = HeraldEvent> {
  readonly name: string;
  readonly eventTypes: readonly E["type"][];
  readonly types: ReadonlySet<string>;
  /** Set by the group. */
  state: ProjectionState = "starting";
  #position: ReadFrom = "start";
  /** While halted on an event: when it is tried again, and the wait after the next failure. */
  halted: { retryAt: number; backoff: number } | undefined;
  readonly #waiters = new Set<{ position: ReadFrom; resolve: () => void }>();

  constructor(
    readonly projection: AnyProjection<E>,
    /** Appends (dispatch auditor, endpoint health): applied in a transaction of its own. */
    readonly reactor: boolean,
    private readonly database: Database,
  ) {
    this.name = projection.name;
    this.eventTypes = projection.eventTypes;
    this.types = new Set(projection.eventTypes);
  }

  /** The position this process has applied or read past (only meaningful while it leads). */
  get position(): ReadFrom {
    return this.#position;
  }

  /** Set by the group when the projection's checkpoint moved. */
  advance(position: ReadFrom): void {
    this.#position = position;
    for (const waiter of this.#waiters) {
      if (comparePositions(position, waiter.position) >= 0) waiter.resolve();
    }
  }

  /**
   * Resolves once the projection has applied the event at `position` (read-your-writes). Works in
   * any process: a standby reads the leader's checkpoint.
   */
  async waitFor(position: ReadFrom, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (comparePositions(this.#position, position) >= 0) return;
      if (this.state !== "running") {
        const stored = await readCheckpoint(this.database.db, this.name);
        if (stored && comparePositions(stored.position, position) >= 0) return;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new ProjectionTimeoutError(this.name, position, timeoutMs);
      await new Promise<void>((resolve) => {
        const waiter = { position, resolve: () => done() };
        const timer = setTimeout(() => done(), Math.min(left, this.state === "running" ? left : 25));
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        };
        this.#waiters.add(waiter);
      });
    }
  }
}

export interface ProjectionGroupOptions<E extends AnyEvent> {
  readonly database: Database;
  /** A halted projection catches up on reads of its own while the others follow the pump. */
  readonly store: EventStore<E>;
  readonly pump: LogPump<E>;
  readonly projections: readonly AnyProjection<E>[];
  /**
   * Projections that append (dispatch auditor, endpoint health). Each applies a page in a
   * transaction of its own, so the group's never holds a transaction id while they append.
   */
  readonly reactors?: readonly AnyProjection<E>[];
  readonly logger: Logger;
  /** How often a standby process tries to take over the group. */
  readonly standbyRetryMs?: number;
  /** Events a halted projection reads per step while it catches up. */
  readonly catchUpPageSize?: number;
}

/**
 * Feeds a group of projections from the process's log pump. One process leads the group (one
 * database lock); the others stand by and take over from the checkpoints when it dies. Per page,
 * each reactor applies its slice in a transaction of its own (they append), and beside them every
 * other projection's slice and every checkpoint commit in one short transaction. Every
 * checkpoint moves on every page, whether the page held events of its projection or not, so no read
 * (live or after a restart) re-scans a tail of events a projection does not handle.
 *
 * A failing group transaction is applied again projection by projection to find the failing one: it
 * halts at that event (logged with type and position) and is retried with backoff from its own
 * checkpoint, never skipping the event, while the others go on; once it has caught up it rejoins.
 */
export class ProjectionGroup<E extends AnyEvent = HeraldEvent> implements LogConsumer<E> {
  readonly name = "projections";
  /**
   * A page costs a transaction and a dozen statements whatever its size: under load the pump lets the
   * next page fill this long after each one (the old read-then-apply cycle gave that for free; without
   * it a burst was applied in twice as many, smaller pages). A quiet log's pages are handed at once.
   */
  readonly lingerMs = 10;
  readonly eventTypes: readonly E["type"][];
  readonly members: ReadonlyMap<string, ProjectionMember<E>>;
  #stopping = false;
  #loop: Promise<void> | undefined;
  /** Page handling and catch-up steps run one at a time, in this chain. */
  #queue: Promise<void> = Promise.resolve();
  /** While this process leads: how far the group has applied, and how to stop leading. */
  #lead: { position: ReadFrom; end: () => void } | undefined;
  readonly #retryTimers = new Set<ReturnType<typeof setTimeout>>();
  #wakeStandby: (() => void) | undefined;
  #markReady: () => void = () => {};
  readonly #ready = new Promise<void>((resolve) => (this.#markReady = resolve));

  constructor(private readonly options: ProjectionGroupOptions<E>) {
    const members = [
      ...(options.reactors ?? []).map((projection) => new ProjectionMember(projection, true, options.database)),
      ...options.projections.map((projection) => new ProjectionMember(projection, false, options.database)),
    ];
    this.members = new Map(members.map((member) => [member.name, member]));
    this.eventTypes = [...new Set(members.flatMap((member) => member.eventTypes))];
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Resolves once this process leads with every projection's tables created, or stands by (another
   * process leads): from then on, queries find the tables.
   */
  ready(): Promise<void> {
    return this.#ready;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#lead?.end();
    this.#wakeStandby?.();
    await this.#loop;
    for (const member of this.members.values()) member.state = "stopped";
  }

  /** Where each projection is: in memory while this process leads, else as stored. */
  async positions(): Promise<Map<string, ReadFrom>> {
    if (this.#lead) return new Map([...this.members.values()].map((member) => [member.name, member.position]));
    const stored = await readCheckpoints(this.options.database.db, [...this.members.keys()]);
    return new Map([...this.members.keys()].map((name) => [name, stored.get(name)?.position ?? "start"]));
  }

  /**
   * Per projection, the age of the oldest event it has not read past yet (0 when caught up): one
   * unfiltered read of one event per distinct position, so usually one read for the whole group.
   */
  async lagSeconds(): Promise<Map<string, number>> {
    const ages = new Map<string, Promise<number>>();
    const ageAfter = async (position: ReadFrom) => {
      const [next] = await this.options.store.readAll(position, { maxCount: 1 });
      return next ? Math.max(0, (Date.now() - Date.parse(next.metadata.at)) / 1000) : 0;
    };
    const lags = new Map<string, number>();
    for (const [name, position] of await this.positions()) {
      const key = positionToJSON(position);
      lags.set(name, await getOrCreate(ages, key, () => ageAfter(position)));
    }
    return lags;
  }

  handle(page: PumpPage<E>): Promise<void> {
    return this.#serially(() => this.#applyPage(page));
  }

  async #run(): Promise<void> {
    const { database, logger } = this.options;
    while (!this.#stopping) {
      let ended: () => void = () => {};
      const leadEnded = new Promise<void>((resolve) => (ended = resolve));
      const release = await database
        .tryLock(PROJECTIONS_LOCK, () => ended())
        .catch((error: unknown) => {
          logger.warn({ err: error }, "projections lock unavailable");
          return undefined;
        });
      if (!release) {
        for (const member of this.members.values()) member.state = "standby";
        this.#markReady();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.standbyRetryMs ?? 2000);
          this.#wakeStandby = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        continue;
      }
      try {
        await this.#leadUntil(leadEnded, ended);
      } catch (error) {
        if (!this.#stopping) logger.error({ err: error }, "projection group stopped unexpectedly");
      } finally {
        this.#markReady();
        await release().catch(() => {});
      }
      if (!this.#stopping) await sleep(500);
    }
  }

  /** Runs while this process holds the group's lock, until `ended`. */
  async #leadUntil(ended: Promise<void>, end: () => void): Promise<void> {
    const { database, pump, logger } = this.options;
    const members = [...this.members.values()];
    await Promise.all(members.map((member) => prepareProjection(database.db, member.projection, logger)));
    this.#markReady();
    const stored = await readCheckpoints(database.db, [...this.members.keys()]);
    let from: ReadFrom | undefined;
    for (const member of members) {
      const position = stored.get(member.name)?.position ?? "start";
      member.advance(position);
      member.halted = undefined;
      member.state = "running";
      if (from === undefined || comparePositions(position, from) < 0) from = position;
    }
    const position = from ?? "start";
    this.#lead = { position, end };
    if (this.#stopping) end();
    logger.info(
      { projections: members.map((member) => member.name), from: positionToJSON(position) },
      "projections running",
    );
    const unregister = pump.register(this, position);
    try {
      await ended;
    } finally {
      unregister();
      this.#lead = undefined;
      for (const timer of this.#retryTimers) clearTimeout(timer);
      this.#retryTimers.clear();
      await this.#queue;
      for (const member of members) member.state = this.#stopping ? "stopped" : "standby";
    }
  }

  #serially(step: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(step);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #applyPage(page: PumpPage<E>): Promise<void> {
    const lead = this.#lead;
    if (!lead) return;
    const slices: { member: ProjectionMember<E>; slice: BatchSlice<E> }[] = [];
    for (const member of this.members.values()) {
      // Halted ones catch up by themselves; one that read ahead while catching up takes only what is new to it.
      if (member.halted || comparePositions(member.position, page.position) >= 0) continue;
      const events = page.events.filter(
        (event) => comparePositions(event.position, member.position) > 0 && member.types.has(event.type),
      );
      slices.push({ member, slice: { projection: member.projection, from: member.position, events } });
    }
    // A reactor with nothing to apply only moves its checkpoint: that joins the group's statement.
    const alone = ({ member, slice }: (typeof slices)[number]) => member.reactor && slice.events.length > 0;
    const reactors = slices.filter(alone);
    const projections = slices.filter((slice) => !alone(slice));
    // Each has a checkpoint of its own, so the reactors' transactions run beside the group's.
    await Promise.all([
      ...reactors.map(({ member, slice }) => this.#applyAlone(member, slice, page.position)),
      this.#applyTogether(projections, page.position),
    ]);
    lead.position = page.position;
  }

  async #applyTogether(
    projections: readonly { member: ProjectionMember<E>; slice: BatchSlice<E> }[],
    to: ReadFrom,
  ): Promise<void> {
    try {
      await applyGroupBatch(
        this.options.database.db,
        projections.map(({ slice }) => slice),
        to,
      );
      for (const { member } of projections) member.advance(to);
    } catch (error) {
      if (error instanceof CheckpointMovedError) return this.#stepDown(error);
      // Which one failed: each applies the page on its own; the failing one halts, the others go on.
      await Promise.all(projections.map(({ member, slice }) => this.#applyAlone(member, slice, to)));
    }
  }

  async #applyAlone(member: ProjectionMember<E>, slice: BatchSlice<E>, to: ReadFrom): Promise<void> {
    try {
      await applyBatch(this.options.database.db, member.projection, slice.from, slice.events, to);
      member.advance(to);
    } catch (error) {
      if (error instanceof CheckpointMovedError) return this.#stepDown(error);
      this.#halt(member, error, slice);
    }
  }

  #halt(member: ProjectionMember<E>, error: unknown, slice: BatchSlice<E>): void {
    const failed = error instanceof ProjectionHandlerError ? error.event : slice.events[0];
    const backoff = member.halted?.backoff ?? FIRST_RETRY_MS;
    member.halted = { retryAt: Date.now() + backoff, backoff: Math.min(backoff * 2, MAX_RETRY_MS) };
    member.state = "retrying";
    this.options.logger.error(
      {
        err: error,
        projection: member.name,
        eventType: failed?.type,
        stream: failed?.stream,
        position: failed ? positionToJSON(failed.position) : undefined,
      },
      "projection halted on an event; retrying it",
    );
    this.#catchUpIn(member, backoff);
  }

  #catchUpIn(member: ProjectionMember<E>, ms: number): void {
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer);
      void this.#serially(() => this.#catchUp(member));
    }, ms);
    this.#retryTimers.add(timer);
  }

  /** One step of a halted projection's catch-up: a page read from its own checkpoint, applied alone. */
  async #catchUp(member: ProjectionMember<E>): Promise<void> {
    const lead = this.#lead;
    if (!lead || !member.halted) return;
    if (comparePositions(member.position, lead.position) < 0) {
      const from = member.position;
      const page = await this.options.store
        .readPage(from, { filter: { eventTypes: member.eventTypes }, maxCount: this.options.catchUpPageSize ?? 1000 })
        .catch((error: unknown) => {
          this.options.logger.warn(
            { err: error, projection: member.name },
            "projection could not read its next page; retrying",
          );
          return undefined;
        });
      if (!page) return this.#catchUpIn(member, member.halted.backoff);
      if (comparePositions(page.position, from) > 0) {
        const slice = { projection: member.projection, from, events: page.events };
        await this.#applyAlone(member, slice, page.position);
        if (member.position !== page.position) return;
      }
    }
    if (comparePositions(member.position, lead.position) >= 0) {
      member.halted = undefined;
      member.state = "running";
      this.options.logger.info({ projection: member.name }, "projection caught up; it follows the group again");
    } else {
      // Caught up one page: the next step comes after the group's next page, so the others go on.
      this.#catchUpIn(member, 0);
    }
  }

  #stepDown(error: CheckpointMovedError): void {
    this.options.logger.warn({ err: error }, "projection checkpoints moved elsewhere; standing down");
    this.#lead?.end();
  }
}
