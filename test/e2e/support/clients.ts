import { SssClient, type SssClientOptions } from '../../../lib/client/index.js';

/** Opens clients and closes every one of them at the end of a test file. */
export class ClientPool {
  private readonly clients: SssClient[] = [];

  constructor(private readonly url: () => string) {}

  async connect(options: SssClientOptions = {}, url = this.url()): Promise<SssClient> {
    const client = this.create(options, url);
    await client.connect();
    return client;
  }

  create(options: SssClientOptions = {}, url = this.url()): SssClient {
    const client = new SssClient(url, { reconnect: { initialDelay: 50, maxDelay: 200 }, ...options });
    this.clients.push(client);
    return client;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((client) => client.close()));
  }
}

/** Polls until `check` stops throwing (an assertion) or the time runs out. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
