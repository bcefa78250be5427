/**
 * One instance of the chaos soak, run as its own process: MongooseModule (whose connection the
 * scaler reuses), SssModule on the Mongo + Redis scaler, channels `soak/:id` and an `@OnAsk('publish')`
 * handler that publishes and answers with the stored position. Prints READY when it listens; its
 * log goes to LOG_FILE so that the soak can count the scaler's warnings after the run.
 */
import 'reflect-metadata';
import { createWriteStream, type WriteStream } from 'node:fs';
import { Module, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { getConnectionToken, MongooseModule } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { Channel, OnAsk, Payload, SssGateway, SssModule, SssPublisher, type ChannelPosition } from '../../lib/index.js';
import { MongoRedisScaler } from '../../lib/mongo-redis.js';

const instance = process.env.INSTANCE ?? 'instance';
const redisUrl = process.env.REDIS_URL!;
const mongoUrl = process.env.MONGO_URL!;

/** What a publisher asks: the channel and a payload id unique over the whole run. */
interface PublishRequest {
  channel: string;
  id: string;
}

@SssGateway()
class SoakGateway {
  constructor(private readonly publisher: SssPublisher) {}

  @OnAsk('publish')
  async publish(@Payload() request: PublishRequest): Promise<ChannelPosition> {
    const { seq, epoch } = await this.publisher.publish(request.channel, 'msg', { id: request.id });
    return { seq, epoch };
  }

  @Channel('soak/:id')
  joined(): void {}
}

@Module({
  imports: [
    MongooseModule.forRoot(mongoUrl, { serverSelectionTimeoutMS: 2_000, bufferCommands: false }),
    SssModule.forRootAsync({
      inject: [getConnectionToken()],
      useFactory: (connection: Connection) => ({
        scaler: new MongoRedisScaler({ redis: redisUrl, mongo: connection }),
        // Every client comes through one balancer on 127.0.0.1, and publishers send ~100 asks/s each.
        limits: { maxSocketsPerAddress: 0, messagesPerSecond: 10_000 },
      }),
    }),
  ],
  providers: [SoakGateway],
})
class SoakInstanceModule {}

/** Writes warnings and errors, with a timestamp, to the instance's log file. */
class FileLogger implements LoggerService {
  constructor(private readonly stream: WriteStream) {}

  log(): void {}

  warn(message: unknown, ...context: unknown[]): void {
    this.write('WARN', message, context);
  }

  error(message: unknown, ...context: unknown[]): void {
    this.write('ERROR', message, context);
  }

  private write(level: string, message: unknown, context: unknown[]): void {
    const text = message instanceof Error ? (message.stack ?? message.message) : String(message);
    const extra = context.filter((item) => item !== undefined).join(' ');
    this.stream.write(`${new Date().toISOString()} ${level} ${text}${extra ? ` ${extra}` : ''}\n`);
  }
}

async function main(): Promise<void> {
  const logFile = process.env.LOG_FILE;
  const logger = logFile ? new FileLogger(createWriteStream(logFile, { flags: 'a' })) : undefined;
  const app = await NestFactory.create(SoakInstanceModule, logger ? { logger } : { logger: ['error', 'warn'] });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  console.log(`READY ${instance}`);
}

void main();
