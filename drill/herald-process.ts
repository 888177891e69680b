/** herald as a real child process, as an operator runs it, so drills can SIGKILL it. */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";

export interface HeraldProcess {
  readonly url: string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function startHeraldProcess(
  env: Record<string, string>,
  port: number,
  logFile: string,
): Promise<HeraldProcess> {
  // `node --import tsx` rather than the tsx CLI: the CLI forks, and SIGKILL would miss the real process.
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "src/app/main.ts"], {
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = createWriteStream(logFile, { flags: "a" });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`herald exited with ${child.exitCode} at start; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`herald did not answer /healthz in 60 s; see ${logFile}`);
    const up = await fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill(signal);
      await exited;
    },
  };
}
