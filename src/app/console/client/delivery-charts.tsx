import { useId } from "react";
import { type LatencyBucket, OUTCOMES, type Outcome, type OutcomeBucket } from "./delivery-stats.js";

const WIDTH = 640;
const HEIGHT = 200;
const PAD = { left: 44, right: 8, top: 8, bottom: 28 };
const PLOT_W = WIDTH - PAD.left - PAD.right;
const PLOT_H = HEIGHT - PAD.top - PAD.bottom;

/** Each outcome has a fill pattern as well as a colour, so the chart reads without colour. */
const OUTCOME_STYLE: Readonly<Record<Outcome, { colour: string; pattern: "solid" | "stripes" | "cross" }>> = {
  succeeded: { colour: "#1b7a3a", pattern: "solid" },
  retrying: { colour: "#9a5b00", pattern: "stripes" },
  failed: { colour: "#b3261e", pattern: "cross" },
};

function timeLabel(ms: number, spanMs: number): string {
  return new Date(ms).toLocaleString(
    undefined,
    spanMs > 2 * 86_400_000 ? { month: "short", day: "numeric" } : { hour: "2-digit", minute: "2-digit" },
  );
}

function Patterns({ prefix }: { prefix: string }) {
  return (
    <defs>
      {OUTCOMES.map((outcome) => {
        const { colour, pattern } = OUTCOME_STYLE[outcome];
        return (
          <pattern key={outcome} id={`${prefix}-${outcome}`} width="6" height="6" patternUnits="userSpaceOnUse">
            <rect width="6" height="6" fill={pattern === "solid" ? colour : "#fff"} />
            {pattern !== "solid" && <path d="M0,6 L6,0" stroke={colour} strokeWidth="2" />}
            {pattern === "cross" && <path d="M0,0 L6,6" stroke={colour} strokeWidth="2" />}
          </pattern>
        );
      })}
    </defs>
  );
}

function Axes({
  max,
  unit,
  buckets,
  spanMs,
}: {
  max: number;
  unit: string;
  buckets: readonly { start: number }[];
  spanMs: number;
}) {
  const ticks = [0, max / 2, max];
  const labelEvery = Math.max(1, Math.ceil(buckets.length / 4));
  return (
    // biome-ignore lint/a11y/noAriaHiddenOnFocusable: decorative axes, nothing in them takes focus; the figures are in the table beside the chart.
    <g className="axes" aria-hidden="true">
      {ticks.map((tick) => {
        const y = PAD.top + PLOT_H - (max === 0 ? 0 : (tick / max) * PLOT_H);
        return (
          <g key={tick}>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y} y2={y} stroke="#ccc" />
            <text x={PAD.left - 4} y={y + 4} textAnchor="end">
              {Number.isInteger(tick) ? tick : tick.toFixed(1)}
              {unit}
            </text>
          </g>
        );
      })}
      {buckets.map((bucket, index) =>
        index % labelEvery === 0 ? (
          <text
            key={bucket.start}
            x={PAD.left + (index + 0.5) * (PLOT_W / buckets.length)}
            y={HEIGHT - 8}
            textAnchor="middle"
          >
            {timeLabel(bucket.start, spanMs)}
          </text>
        ) : null,
      )}
    </g>
  );
}

/** Deliveries per bucket as stacked bars, one pattern per outcome, with the figures as a table beneath. */
export function OutcomeChart({ buckets, spanMs }: { buckets: readonly OutcomeBucket[]; spanMs: number }) {
  const prefix = useId().replace(/:/g, "");
  const max = Math.max(
    1,
    ...buckets.map((bucket) => OUTCOMES.reduce((sum, outcome) => sum + bucket.counts[outcome], 0)),
  );
  const barW = PLOT_W / buckets.length;
  const totals = Object.fromEntries(
    OUTCOMES.map((outcome) => [outcome, buckets.reduce((sum, bucket) => sum + bucket.counts[outcome], 0)]),
  ) as Record<Outcome, number>;
  return (
    <figure className="chart">
      <figcaption>
        Deliveries over time by outcome: {OUTCOMES.map((outcome) => `${totals[outcome]} ${outcome}`).join(", ")}
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Bar chart of deliveries by outcome: ${OUTCOMES.map((o) => `${totals[o]} ${o}`).join(", ")}`}
      >
        <Patterns prefix={prefix} />
        <Axes max={max} unit="" buckets={buckets} spanMs={spanMs} />
        {buckets.map((bucket, index) => {
          let y = PAD.top + PLOT_H;
          return (
            <g key={bucket.start}>
              {OUTCOMES.map((outcome) => {
                const h = (bucket.counts[outcome] / max) * PLOT_H;
                y -= h;
                return h > 0 ? (
                  <rect
                    key={outcome}
                    x={PAD.left + index * barW + 1}
                    y={y}
                    width={Math.max(1, barW - 2)}
                    height={h}
                    fill={`url(#${prefix}-${outcome})`}
                    stroke={OUTCOME_STYLE[outcome].colour}
                  />
                ) : null;
              })}
            </g>
          );
        })}
      </svg>
      <Legend
        items={OUTCOMES.map((outcome) => ({
          label: outcome,
          swatch: (
            <svg width="18" height="12" aria-hidden="true">
              <Patterns prefix={`${prefix}l`} />
              <rect
                width="18"
                height="12"
                fill={`url(#${prefix}l-${outcome})`}
                stroke={OUTCOME_STYLE[outcome].colour}
              />
            </svg>
          ),
        }))}
      />
    </figure>
  );
}

const SERIES = [
  { key: "p50", colour: "#1f4e9c", dash: undefined, marker: "circle" },
  { key: "p95", colour: "#7a3e9d", dash: "6 3", marker: "square" },
  { key: "p99", colour: "#b3261e", dash: "2 2", marker: "triangle" },
] as const;

function Marker({
  shape,
  x,
  y,
  colour,
}: {
  shape: (typeof SERIES)[number]["marker"];
  x: number;
  y: number;
  colour: string;
}) {
  if (shape === "circle") return <circle cx={x} cy={y} r="3.5" fill={colour} />;
  if (shape === "square") return <rect x={x - 3.5} y={y - 3.5} width="7" height="7" fill={colour} />;
  return <path d={`M${x},${y - 4.5} L${x + 4.5},${y + 3.5} L${x - 4.5},${y + 3.5} Z`} fill={colour} />;
}

/** Attempt latency percentiles per bucket: a line each, told apart by dashes and markers as well as colour. */
export function LatencyChart({ buckets, spanMs }: { buckets: readonly LatencyBucket[]; spanMs: number }) {
  const max = Math.max(1, ...buckets.flatMap((bucket) => [bucket.p99 ?? 0]));
  const step = PLOT_W / buckets.length;
  const point = (index: number, value: number) =>
    [PAD.left + (index + 0.5) * step, PAD.top + PLOT_H - (value / max) * PLOT_H] as const;
  const attempts = buckets.reduce((sum, bucket) => sum + bucket.attempts, 0);
  const overall = (key: "p50" | "p95" | "p99") => Math.max(0, ...buckets.map((bucket) => bucket[key] ?? 0));
  return (
    <figure className="chart">
      <figcaption>
        Attempt latency (ms), p50 / p95 / p99 per interval, {attempts} attempt{attempts === 1 ? "" : "s"}
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Line chart of attempt latency; highest p50 ${overall("p50")} ms, p95 ${overall("p95")} ms, p99 ${overall("p99")} ms`}
      >
        <Axes max={max} unit="" buckets={buckets} spanMs={spanMs} />
        {SERIES.map((series) => {
          const points = buckets.flatMap((bucket, index) =>
            bucket[series.key] == null ? [] : [{ index, value: bucket[series.key] as number }],
          );
          return (
            <g key={series.key}>
              <polyline
                fill="none"
                stroke={series.colour}
                strokeWidth="2"
                strokeDasharray={series.dash}
                points={points.map(({ index, value }) => point(index, value).join(",")).join(" ")}
              />
              {points.map(({ index, value }) => {
                const [x, y] = point(index, value);
                return <Marker key={index} shape={series.marker} x={x} y={y} colour={series.colour} />;
              })}
            </g>
          );
        })}
      </svg>
      <Legend
        items={SERIES.map((series) => ({
          label: series.key,
          swatch: (
            <svg width="28" height="12" aria-hidden="true">
              <line x1="0" x2="28" y1="6" y2="6" stroke={series.colour} strokeWidth="2" strokeDasharray={series.dash} />
              <Marker shape={series.marker} x={14} y={6} colour={series.colour} />
            </svg>
          ),
        }))}
      />
    </figure>
  );
}

function Legend({ items }: { items: readonly { label: string; swatch: JSX.Element }[] }) {
  return (
    <ul className="legend">
      {items.map((item) => (
        <li key={item.label}>
          {item.swatch} {item.label}
        </li>
      ))}
    </ul>
  );
}
