import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SssCluster } from '../lib/cluster.js';
import { AppModule } from './app.module.js';
import { buildClientBundle } from './build-client-bundle.js';
import { projectRoot } from './project-root.js';

const publicDir = join(projectRoot(), 'sample/public');

async function bootstrap(): Promise<NestExpressApplication> {
  // A scaled run builds the bundle in its first instance only; a cluster in its primary.
  if (process.env.SKIP_CLIENT_BUNDLE !== '1' && !SssCluster.isWorker) await buildClientBundle(publicDir);
  const app = await NestFactory.create<NestExpressApplication>(AppModule);
  app.useStaticAssets(publicDir);
  // Lets SssModule tell sockets to reconnect elsewhere and close them on SIGTERM/SIGINT.
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  const name = process.env.INSTANCE_NAME ? ` instance ${process.env.INSTANCE_NAME}` : '';
  console.log(`Chat sample${name} on http://localhost:${port}/ (WebSocket endpoint ws://localhost:${port}/sss)`);
  return app;
}

if (process.env.SSS_CLUSTER === '1') {
  // `npm run sample:cluster`: one worker per core on one port, no services (ClusterScaler).
  if (SssCluster.isWorker) process.env.INSTANCE_NAME ??= `worker ${process.pid}`;
  // One announcement token for every worker (they inherit the primary's environment).
  if (!SssCluster.isWorker) process.env.ANNOUNCE_TOKEN ||= randomBytes(18).toString('base64url');
  void (async () => {
    if (!SssCluster.isWorker) await buildClientBundle(publicDir);
    const primary = await SssCluster.run(bootstrap);
    if (primary)
      console.log(`Chat sample on ${primary.workerPids.length} workers (pids ${primary.workerPids.join(', ')})`);
  })();
} else {
  void bootstrap();
}
