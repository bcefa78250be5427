/**
 * The fixture of the cluster suite, run as its own process: `SssCluster.run` with a small app on
 * `ClusterScaler` in every worker. Workers answer `worker` (their pid) and `publish` asks, and
 * POST /publish; the primary prints READY once every worker listens. While the file CRASH_FILE
 * exists, workers fail to start (a crash loop).
 */
import 'reflect-metadata';
import { Body, Controller, Injectable, Module, Post, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { existsSync } from 'node:fs';
import { ClusterScaler, SssCluster } from '../../../lib/cluster.js';
import {
  Channel,
  ConnectedSocket,
  OnAsk,
  Payload,
  SssExecutionContext,
  SssGateway,
  SssModule,
  SssPublisher,
  type SssSocket,
} from '../../../lib/index.js';
import { CLUSTER_IPC_TAG } from '../../../lib/scaler/cluster/cluster-ipc.messages.js';

/** Cookies `user=<id>` and `session=<id>` name the user and the session (presence name: the id in capitals). */
@Injectable()
class CookieGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const handshake = SssExecutionContext.create(context).getHandshake();
    if (!handshake) return false;
    const cookies = new Map(
      (handshake.request.headers.cookie ?? '')
        .split(';')
        .map((pair) => pair.trim().split('=') as [string, string])
        .filter(([name, value]) => name && value),
    );
    handshake.userId = cookies.get('user');
    handshake.sessionId = cookies.get('session');
    if (handshake.userId) handshake.presence = { name: handshake.userId.toUpperCase() };
    return true;
  }
}

@SssGateway()
class ClusterGateway {
  constructor(private readonly publisher: SssPublisher) {}

  @OnAsk('worker')
  worker(): number {
    return process.pid;
  }

  @OnAsk('publish')
  async publish(@Payload() body: { channel: string; data: unknown }): Promise<number> {
    return (await this.publisher.publish(body.channel, 'tick', body.data)).seq;
  }

  /** Sends the primary IPC messages a broken worker could send; the primary must shrug them off. */
  @OnAsk('send-malformed-ipc')
  sendMalformed(): number {
    const malformed: unknown[] = [
      { tag: CLUSTER_IPC_TAG },
      { tag: CLUSTER_IPC_TAG, t: 'publish' },
      { tag: CLUSTER_IPC_TAG, t: 'publish', id: 'x', channel: 1 },
      { tag: CLUSTER_IPC_TAG, t: 'publish', id: 1e9, channel: { a: 1 }, topic: null },
      { tag: CLUSTER_IPC_TAG, t: 'signal', id: 1e9 + 1, signal: { kind: 'boot', target: { type: 'nobody' } } },
      { tag: CLUSTER_IPC_TAG, t: 'history', id: 1e9 + 2, channel: 'feed/x', since: 'yesterday' },
      { tag: CLUSTER_IPC_TAG, t: 'nonsense', id: 1e9 + 3, channel: 'feed/x' },
      null,
      'just a string',
      [1, 2, 3],
    ];
    for (const message of malformed) process.send!(message);
    return malformed.length;
  }

  @Channel('feed/:id')
  feed(): void {}

  @Channel('room/:id', { presence: true })
  room(): void {}

  @OnAsk('session.set')
  async sessionSet(@ConnectedSocket() socket: SssSocket, @Payload() body: { key: string; value: unknown }) {
    await socket.session.set(body.key, body.value);
    return true;
  }

  @OnAsk('session.get')
  async sessionGet(@ConnectedSocket() socket: SssSocket, @Payload() key: string) {
    return { value: await socket.session.get(key) };
  }
}

@Controller()
class PublishController {
  constructor(private readonly publisher: SssPublisher) {}

  @Post('publish')
  async publish(@Body() body: { channel: string; data: unknown }): Promise<{ seq: number; worker: number }> {
    const { seq } = await this.publisher.publish(body.channel, 'tick', body.data);
    return { seq, worker: process.pid };
  }
}

@Module({
  imports: [
    SssModule.forRoot({
      scaler: new ClusterScaler(),
      sessionGuards: CookieGuard,
      heartbeatInterval: 2_000,
      shutdownTimeout: 2_000,
      limits: { maxSocketsPerAddress: 0, messagesPerSecond: 10_000 },
    }),
  ],
  controllers: [PublishController],
  providers: [ClusterGateway, CookieGuard],
})
class ClusterAppModule {}

void SssCluster.run(
  async () => {
    // A broken deploy, on demand: while this file exists, workers fail to start.
    if (process.env.CRASH_FILE && existsSync(process.env.CRASH_FILE)) throw new Error('CRASH_FILE is present');
    const app = await NestFactory.create(ClusterAppModule, { logger: ['error', 'warn'] });
    await app.listen(Number(process.env.PORT), '127.0.0.1');
    return app;
  },
  { workers: Number(process.env.WORKERS ?? 2), retention: { maxMessages: 10_000 }, drainTimeout: 10_000 },
).then((primary) => {
  if (primary) console.log(`READY ${primary.workerPids.join(',')}`);
});
