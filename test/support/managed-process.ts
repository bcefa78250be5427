import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** A child process this test run started, stopped only by its own PID. */
export class ManagedProcess {
  private readonly output: string[] = [];
  private exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 200) this.output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ManagedProcess {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    return new ManagedProcess(name, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the process printed, for failure messages. */
  get recentOutput(): string {
    return this.output.join('').slice(-4_000);
  }

  /** Resolves when the process printed a line matching `pattern`. */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.output.join(''));
      if (match) return match[0];
      if (!this.running) throw new Error(`${this.name} exited before printing ${pattern}:\n${this.recentOutput}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not print ${pattern}:\n${this.recentOutput}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs` if it is still running. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The path of an executable named `command` on PATH or in one of `extraDirs`, if there is one. */
export function findExecutable(command: string, extraDirs: string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), ...extraDirs].filter(Boolean);
  for (const dir of dirs) {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // not there
    }
  }
  return undefined;
}
