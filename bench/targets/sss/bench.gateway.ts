import { Channel, OnAsk, Payload, SssGateway, SssPublisher, type ChannelPosition } from '../../../lib/index.js';

/** The gateway of every bench server of ours: as the README shows one, with what the loads ask. */
@SssGateway()
export class BenchGateway {
  constructor(private readonly publisher: SssPublisher) {}

  @OnAsk('echo')
  echo(@Payload() data: unknown): unknown {
    return data;
  }

  /** Which process answered (the cluster bench tells workers apart with it). */
  @OnAsk('worker')
  worker(): number {
    return process.pid;
  }

  @OnAsk('publish')
  publish(@Payload() body: { channel: string; data: unknown }): Promise<ChannelPosition> {
    return this.publisher.publish(body.channel, 'm', body.data);
  }

  /** Publishes `count` messages at once (they are batched); answers once all are stored. */
  @OnAsk('burst')
  async burst(@Payload() body: { channel: string; count: number }): Promise<number> {
    const published = await Promise.all(
      Array.from({ length: body.count }, (_, index) => this.publisher.publish(body.channel, 'm', { n: index + 1 })),
    );
    return published.length;
  }

  @Channel('bench/:id')
  join(): void {}
}
