/**
 * Ours: a Nest app with SssModule and one gateway, as the README shows it. On the embedded scaler
 * alone (ask, idle memory), or on the MongoRedisScaler when REDIS_URL is set (fan-out, recovery,
 * many channels): as is, MongoDB history included, with MONGO_URL; on the RedisScaler (history
 * off) when HISTORY=off; on a Redis Cluster (sharded pub/sub) when REDIS_CLUSTER lists its nodes.
 *
 * The limits a public endpoint defaults to are raised where the load generator would hit them:
 * one address opens every connection, each far faster than 100 frames per second.
 */
import 'reflect-metadata';
import type { Server } from 'node:http';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SssModule } from '../../../lib/index.js';
import { BenchGateway } from './bench.gateway.js';
import { MongoRedisScaler, RedisScaler } from '../../../lib/mongo-redis.js';
import { announceReady, serveControl } from '../../support/control.js';

const redisUrl = process.env.REDIS_URL;
/** 'host:port,host:port,...' of a Redis Cluster, instead of REDIS_URL. */
const redisCluster = process.env.REDIS_CLUSTER?.split(',');
const mongoUrl = process.env.MONGO_URL;
const historyOff = process.env.HISTORY === 'off';
/** `minInsertInterval` of ours with history (unset: the scaler's default). */
const minInsertInterval = process.env.BENCH_MIN_INSERT_INTERVAL
  ? Number(process.env.BENCH_MIN_INSERT_INTERVAL)
  : undefined;

@Module({
  imports: [
    SssModule.forRoot({
      scaler: redisCluster
        ? new MongoRedisScaler({ redisCluster: { nodes: redisCluster }, mongo: mongoUrl!, minInsertInterval })
        : !redisUrl
          ? undefined
          : historyOff
            ? new RedisScaler({ redis: redisUrl })
            : new MongoRedisScaler({ redis: redisUrl, mongo: mongoUrl!, minInsertInterval }),
      limits: { maxSocketsPerAddress: 0, messagesPerSecond: 1_000_000, maxSubscriptionsPerSocket: 1_000 },
    }),
  ],
  providers: [BenchGateway],
})
class BenchModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(BenchModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  serveControl();
  announceReady(((app.getHttpServer() as Server).address() as { port: number }).port);
}

void main();
