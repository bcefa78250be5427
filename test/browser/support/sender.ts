import { SssClient } from '../../../lib/client/index.js';
import { sleep } from '../../e2e/support/clients.js';

/** A scripted participant that says numbered messages in `sport` through the balancer, retrying what fails. */
export async function startSender(baseUrl: string) {
  const response = await fetch(`${baseUrl}api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'sender' }),
  });
  const cookie = response.headers.get('set-cookie')!.split(';')[0];
  const client = new SssClient(`${baseUrl.replace('http', 'ws')}sss`, {
    headers: { cookie },
    reconnect: { initialDelay: 100, maxDelay: 500 },
  });
  await client.connect();
  const room = await client.subscribe('rooms/sport');
  const texts = new Set<string>();
  room.on<{ text: string }>('message', ({ text }) => texts.add(text));
  let stopped = false;
  let sent = 0;
  const loop = (async () => {
    while (!stopped) {
      try {
        await client.tell('say', { room: 'sport', text: `m${sent + 1}` });
        sent++;
      } catch {
        // Dropped with its instance: say it again once reconnected.
      }
      await sleep(60);
    }
  })();
  return {
    async stop(): Promise<number> {
      stopped = true;
      await loop;
      // Its last message, once it has come back (through the store and the fan-out: slow on a loaded
      // machine), then a little more for a copy a failed-then-retried tell may have published.
      for (const deadline = Date.now() + 10_000; !texts.has(`m${sent}`) && Date.now() < deadline;) await sleep(20);
      await sleep(300);
      const lastSeq = room.position.seq;
      await client.close();
      return lastSeq;
    },
  };
}
