import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { join } from 'node:path';
import { AppModule } from './app.module.js';
import { buildClientBundle } from './build-client-bundle.js';
import { projectRoot } from './project-root.js';

const publicDir = join(projectRoot(), 'sample/public');

async function bootstrap(): Promise<void> {
  // A scaled run builds the bundle in its first instance only.
  if (process.env.SKIP_CLIENT_BUNDLE !== '1') await buildClientBundle(publicDir);
  const app = await NestFactory.create<NestExpressApplication>(AppModule);
  app.useStaticAssets(publicDir);
  // Lets SssModule tell sockets to reconnect elsewhere and close them on SIGTERM/SIGINT.
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  const name = process.env.INSTANCE_NAME ? ` instance ${process.env.INSTANCE_NAME}` : '';
  console.log(`Chat sample${name} on http://localhost:${port}/ (WebSocket endpoint ws://localhost:${port}/sss)`);
}

void bootstrap();
