import pino, { type Logger } from "pino";
import { prettyFactory } from "pino-pretty";

/** LOG_FORMAT: JSON lines for machines, pino-pretty's one-line-per-entry text for people. */
export type LogFormat = "json" | "pretty";

/**
 * Structured JSON logs. Secrets are redacted by path as a second line of defence: code must not
 * log them in the first place.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "herald" },
      redact: {
        paths: [
          "apiKey",
          "*.apiKey",
          "signingSecret",
          "*.signingSecret",
          "secret",
          "*.secret",
          "token",
          "*.token",
          "authorization",
          "*.authorization",
          "req.headers.authorization",
          'req.headers["x-api-key"]',
          "headers.authorization",
          'headers["x-api-key"]',
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}

/** Someone watching a terminal reads text; files, pipes and log collectors get JSON. LOG_FORMAT decides otherwise. */
export function logFormat(configured: LogFormat | undefined, stdoutIsTerminal: boolean): LogFormat {
  return configured ?? (stdoutIsTerminal ? "pretty" : "json");
}

/**
 * pino-pretty's formatter applied to each line as pino writes it, after redaction. Synchronous, unlike
 * its stream, so the last lines before process.exit are not lost.
 */
export function prettyDestination(out: NodeJS.WritableStream): pino.DestinationStream {
  const pretty = prettyFactory({ translateTime: "SYS:HH:MM:ss.l", ignore: "service", singleLine: true });
  return { write: (line: string) => void out.write(pretty(line)) };
}
