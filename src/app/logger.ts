import pino, { type Logger } from "pino";

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
