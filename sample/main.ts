import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { fileURLToPath } from 'node:url';
import { AppModule } from './app.module.js';
import { buildClientBundle } from './build-client-bundle.js';

const publicDir = fileURLToPath(new URL('../../sample/public', import.meta.url));

async function bootstrap(): Promise<void> {
  await buildClientBundle(publicDir);
  const app = await NestFactory.create<NestExpressApplication>(AppModule);
  app.useStaticAssets(publicDir);
  // Lets SssModule tell sockets to reconnect elsewhere and close them on SIGTERM/SIGINT.
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  console.log(`Chat sample on http://localhost:${port}/ (WebSocket endpoint ws://localhost:${port}/sss)`);
}

void bootstrap();
