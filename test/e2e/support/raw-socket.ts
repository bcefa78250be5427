import WebSocket from 'ws';

/** A bare WebSocket speaking the protocol by hand, for malformed and edge-case frames. */
export class RawSocket {
  readonly frames: Array<Record<string, unknown>> = [];
  closed?: { code: number; reason: string };
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  /** Opens a socket and waits for `hello`. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<RawSocket> {
    const ws = new WebSocket(url, { headers });
    const raw = new RawSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await raw.next((frame) => frame.t === 'hello');
    return raw;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Waits for the first frame (received so far or later) that matches. */
  async next(match: (frame: Record<string, unknown>) => boolean, timeoutMs = 3_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame; got ${JSON.stringify(this.frames)}`);
      await this.sleepUntilWoken(deadline - Date.now());
    }
  }

  /** Sends a request and waits for the frame answering its id. */
  async request(frame: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.send(frame);
    return this.next((reply) => reply.id === frame.id && reply.t !== undefined);
  }

  async waitClosed(timeoutMs = 3_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket did not close');
      await this.sleepUntilWoken(deadline - Date.now());
    }
    return this.closed;
  }

  close(): void {
    this.ws.terminate();
  }

  private sleepUntilWoken(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(ms, 1));
      const waiter = () => done();
      this.waiters.push(waiter);
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}
