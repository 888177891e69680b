import type { ColumnType, Generated } from "kysely";

/** The tables every herald database has; projections declare their own next to their code. */
export interface CoreTables {
  herald_events: EventsTable;
  herald_streams: StreamsTable;
  herald_checkpoints: CheckpointsTable;
}

export interface EventsTable {
  position: Generated<bigint>;
  /** xid8 of the appending transaction; read as text and converted. */
  transaction_id: ColumnType<string, never, never>;
  event_id: string;
  stream: string;
  revision: bigint;
  type: string;
  data: ColumnType<unknown, string, string>;
  metadata: ColumnType<unknown, string, string>;
  recorded_at: ColumnType<Date, never, never>;
}

export interface StreamsTable {
  stream: string;
  revision: bigint;
}

export interface CheckpointsTable {
  projection: string;
  /** `formatPosition` text, or "start". */
  position: string;
  /** The projection's version when it wrote this checkpoint; a newer version rebuilds. */
  version: number;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}
