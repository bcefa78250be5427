import { Module, ValidationPipe, type DynamicModule } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { getConnectionToken, MongooseModule } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { ClusterScaler, SssCluster } from '../lib/cluster.js';
import { SssModule } from '../lib/index.js';
import { MongoRedisScaler } from '../lib/mongo-redis.js';
import { AnnouncementsController } from './chat/announcements.controller.js';
import { ChatSessionService } from './chat/chat-session.service.js';
import { ChatGateway } from './chat/chat.gateway.js';
import { NameSessionGuard } from './chat/name-session.guard.js';
import { RoomPasswordGuard } from './chat/room-password.guard.js';
import { SessionController } from './chat/session.controller.js';

/**
 * The sample's socket setup: the embedded scaler by default (one instance, no services), the
 * cluster scaler in a worker of `npm run sample:cluster` (every core, no services), or the
 * Mongo + Redis scaler when REDIS_URL and MONGO_URL are set (many instances behind a balancer).
 */
function socketsModules(): DynamicModule[] {
  const { REDIS_URL, MONGO_URL } = process.env;
  if (SssCluster.isWorker) {
    return [SssModule.forRoot({ path: '/sss', sessionGuards: NameSessionGuard, scaler: new ClusterScaler() })];
  }
  if (!REDIS_URL || !MONGO_URL) {
    return [SssModule.forRoot({ path: '/sss', sessionGuards: NameSessionGuard })];
  }
  return [
    MongooseModule.forRoot(MONGO_URL, { serverSelectionTimeoutMS: 5_000 }),
    SssModule.forRootAsync({
      inject: [getConnectionToken()],
      useFactory: (connection: Connection) => ({
        path: '/sss',
        sessionGuards: NameSessionGuard,
        // Behind a proxy every socket comes from the proxy's address: read X-Forwarded-For.
        trustProxy: true,
        scaler: new MongoRedisScaler({ redis: REDIS_URL, mongo: connection }),
      }),
    }),
  ];
}

@Module({
  imports: [...socketsModules()],
  controllers: [AnnouncementsController, SessionController],
  providers: [
    ChatGateway,
    ChatSessionService,
    NameSessionGuard,
    RoomPasswordGuard,
    { provide: APP_PIPE, useValue: new ValidationPipe({ whitelist: true }) },
  ],
})
export class AppModule {}
