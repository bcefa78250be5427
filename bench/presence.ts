/**
 * How long presence takes to answer for a channel with many members (`npm run bench:presence`).
 * For each scaler, one Nest app serves a client subscribed to a presence channel; the channel is
 * filled with BENCH_PRESENCE_MEMBERS users (a fifth of them with a second connection), joined
 * through a second scaler on the same Redis (another instance, as far as Redis is concerned) or,
 * for the embedded scaler, through the app's own. Then it times `subscription.presence()` on the
 * client (the whole round trip: the scaler's read, the `res` frame, the client's parse) and
 * `SssPublisher.presence()` on the server.
 */
import 'reflect-metadata';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SssClient } from '../lib/client/index.js';
import {
  Channel,
  SSS_SCALER,
  SssGateway,
  SssModule,
  SssPublisher,
  type Scaler,
  type ScalerListener,
} from '../lib/index.js';
import { MongoRedisScaler, RedisScaler } from '../lib/mongo-redis.js';
import { BenchServices } from './support/bench-services.js';

const MEMBERS = Number(process.env.BENCH_PRESENCE_MEMBERS ?? 10_000);
const SAMPLES = Number(process.env.BENCH_PRESENCE_SAMPLES ?? 30);
const WARMUP = 3;
const CHANNEL = 'room/big';
const idle: ScalerListener = { onMessage: () => undefined, onSignal: () => undefined, onPresence: () => undefined };

@SssGateway()
class BenchPresenceGateway {
  @Channel('room/:id', { presence: true })
  room(): void {}
}

interface Target {
  name: string;
  /** The app's scaler (undefined: the embedded one) and the one that fills the channel. */
  create(): { scaler: Scaler | undefined; filler: (app: INestApplication) => Promise<Scaler> };
}

async function measure(target: Target): Promise<Record<string, number | string>> {
  const { scaler, filler } = target.create();
  @Module({ imports: [SssModule.forRoot({ scaler })], providers: [BenchPresenceGateway] })
  class BenchPresenceModule {}
  const app = await NestFactory.create(BenchPresenceModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const fill = await filler(app);
  const client = new SssClient(`ws://127.0.0.1:${port}/sss`, { askTimeout: 30_000 });
  try {
    const filledAt = performance.now();
    for (let from = 0; from < MEMBERS; from += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, MEMBERS - from) }, (_, offset) => {
          const user = from + offset;
          const joins = [
            fill.presence.join(CHANNEL, {
              connectionId: `a${user}`,
              userId: `user-${user}`,
              info: { name: `User ${user}` },
            }),
          ];
          if (user % 5 === 0)
            joins.push(fill.presence.join(CHANNEL, { connectionId: `b${user}`, userId: `user-${user}` }));
          return Promise.all(joins);
        }),
      );
    }
    const fillMs = performance.now() - filledAt;
    await client.connect();
    const subscription = await client.subscribe(CHANNEL);
    const publisher = app.get(SssPublisher);
    const clientTimes: number[] = [];
    const serverTimes: number[] = [];
    for (let sample = 0; sample < WARMUP + SAMPLES; sample++) {
      let started = performance.now();
      const members = await subscription.presence();
      const clientMs = performance.now() - started;
      started = performance.now();
      const serverMembers = await publisher.presence(CHANNEL);
      const serverMs = performance.now() - started;
      if (members.length !== MEMBERS || serverMembers.length !== MEMBERS) {
        throw new Error(`${target.name}: expected ${MEMBERS} members, got ${members.length} / ${serverMembers.length}`);
      }
      if (members.find((member) => member.userId === 'user-0')?.connections !== 2) {
        throw new Error(`${target.name}: user-0 should have 2 connections`);
      }
      if (sample < WARMUP) continue;
      clientTimes.push(clientMs);
      serverTimes.push(serverMs);
    }
    return {
      scaler: target.name,
      members: MEMBERS,
      'fill (ms)': round(fillMs),
      'client presence() p50 (ms)': round(percentile(clientTimes, 0.5)),
      'p95 (ms)': round(percentile(clientTimes, 0.95)),
      'max (ms)': round(Math.max(...clientTimes)),
      'server presence() p50 (ms)': round(percentile(serverTimes, 0.5)),
    };
  } finally {
    await client.close();
    if (fill !== app.get<Scaler>(SSS_SCALER)) await fill.close();
    await app.close();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

const round = (value: number) => Math.round(value * 10) / 10;

async function connected(scaler: Scaler): Promise<Scaler> {
  await scaler.connect(idle);
  return scaler;
}

async function main(): Promise<void> {
  const services = await BenchServices.start(1);
  try {
    const targets: Target[] = [
      {
        name: 'embedded memory',
        create: () => ({ scaler: undefined, filler: async (app) => app.get<Scaler>(SSS_SCALER) }),
      },
      {
        name: 'Redis-only',
        create: () => ({
          scaler: new RedisScaler({ redis: services.redis.url, prefix: 'bench-r' }),
          filler: () => connected(new RedisScaler({ redis: services.redis.url, prefix: 'bench-r' })),
        }),
      },
      {
        name: 'Mongo + Redis',
        create: () => {
          const mongo = services.newMongoUrl();
          return {
            scaler: new MongoRedisScaler({ redis: services.redis.url, mongo, prefix: 'bench-m' }),
            filler: () => connected(new MongoRedisScaler({ redis: services.redis.url, mongo, prefix: 'bench-m' })),
          };
        },
      },
    ];
    const rows = [];
    for (const target of targets) rows.push(await measure(target));
    console.table(rows);
  } finally {
    await services.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
