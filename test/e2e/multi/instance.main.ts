/**
 * One instance of the multi-instance fixture, run as its own process by `TestCluster`:
 * MongooseModule (whose connection the scaler reuses), SssModule on the Mongo + Redis scaler, a
 * gateway, and HTTP endpoints the tests publish through. Prints READY when it listens.
 */
import 'reflect-metadata';
import {
  Body,
  Controller,
  HttpException,
  Inject,
  Injectable,
  Module,
  Post,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { getConnectionToken, MongooseModule } from '@nestjs/mongoose';
import { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
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
import { MongoRedisScaler } from '../../../lib/mongo-redis.js';

const instance = process.env.INSTANCE ?? 'instance';
const redisUrl = process.env.REDIS_URL!;
const mongoUrl = process.env.MONGO_URL!;
const maxMessages = Number(process.env.MAX_MESSAGES ?? 1000);
const presenceTimeout = Number(process.env.PRESENCE_TIMEOUT ?? 6_000);
const FIXTURE_REDIS = Symbol('FIXTURE_REDIS');

/** Room passwords live in Redis, so that a test can revoke one for every instance at once. */
@Injectable()
class VipGuard implements CanActivate {
  constructor(@Inject(FIXTURE_REDIS) private readonly redis: Redis) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = SssExecutionContext.create(context).getChannelRequest();
    if (!request) return false;
    const password = await this.redis.get(`fixture:vip:${request.params.id}`);
    return password !== null && (request.query as { password?: string } | undefined)?.password === password;
  }
}

/**
 * Cookies `user=<id>` and `session=<id>` name the user and the session; without them the socket is
 * anonymous. Presence shows the user id in capitals as its name.
 */
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
class MultiGateway {
  @OnAsk('instance')
  instance(): string {
    return instance;
  }

  @Channel('feed/:id')
  feed(): void {}

  @Channel('vip/:id')
  @UseGuards(VipGuard)
  vip(): void {}

  @Channel('room/:id', { presence: true })
  room(): void {}

  @OnAsk('session.set')
  async sessionSet(
    @ConnectedSocket() socket: SssSocket,
    @Payload() body: { key: string; value: unknown; ttlMs?: number },
  ) {
    await socket.session.set(body.key, body.value, { ttlMs: body.ttlMs });
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

  /** Publishes `count` messages at once (they are batched), returning their seqs in call order. */
  @Post('burst')
  async burst(@Body() body: { channel: string; count: number; tag: string }): Promise<number[]> {
    const results = await Promise.all(
      Array.from({ length: body.count }, (_, index) =>
        this.publisher.publish(body.channel, 'tick', { tag: body.tag, index }),
      ),
    );
    return results.map((result) => result.seq);
  }

  @Post('presence')
  presence(@Body() body: { channel: string }) {
    return this.publisher.presence(body.channel);
  }

  @Post('publish')
  async publish(@Body() body: { channel: string; data: unknown }): Promise<{ seq: number }> {
    try {
      return await this.publisher.publish(body.channel, 'tick', body.data);
    } catch (error) {
      throw new HttpException((error as Error).message, 503);
    }
  }
}

@Module({
  imports: [
    MongooseModule.forRoot(mongoUrl, { serverSelectionTimeoutMS: 2_000, bufferCommands: false }),
    SssModule.forRootAsync({
      inject: [getConnectionToken()],
      useFactory: (connection: Connection) => ({
        scaler: new MongoRedisScaler({
          redis: redisUrl,
          mongo: connection,
          retention: { maxMessages },
          gapFillDelay: 50,
          presenceTimeout,
        }),
        sessionGuards: CookieGuard,
        heartbeatInterval: 2_000,
        limits: { maxSocketsPerAddress: 0, messagesPerSecond: 10_000 },
      }),
    }),
  ],
  controllers: [PublishController],
  providers: [
    MultiGateway,
    VipGuard,
    CookieGuard,
    { provide: FIXTURE_REDIS, useFactory: () => new Redis(redisUrl, { lazyConnect: false }) },
  ],
})
class InstanceModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(InstanceModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  console.log(`READY ${instance}`);
}

void main();
