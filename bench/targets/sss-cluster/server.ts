/**
 * Ours on every core of the machine: the bench gateway under `SssCluster.run` with
 * `ClusterScaler` (WORKERS workers on PORT), or the same app as one process on the embedded
 * scaler when WORKERS=0. Prints `READY <pid,...>` with the pids that serve (the primary first).
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClusterScaler, SssCluster } from '../../../lib/cluster.js';
import { SssModule } from '../../../lib/index.js';
import { BenchGateway } from '../sss/bench.gateway.js';

const workers = Number(process.env.WORKERS ?? 0);
const port = Number(process.env.PORT);

@Module({
  imports: [
    SssModule.forRoot({
      scaler: workers > 0 ? new ClusterScaler() : undefined,
      limits: { maxSocketsPerAddress: 0, messagesPerSecond: 1_000_000, maxSubscriptionsPerSocket: 1_000 },
    }),
  ],
  providers: [BenchGateway],
})
class BenchModule {}

async function bootstrap() {
  const app = await NestFactory.create(BenchModule, { logger: ['error', 'warn'] });
  await app.listen(port, '127.0.0.1');
  return app;
}

if (workers === 0) {
  void bootstrap().then(() => console.log(`READY ${process.pid}`));
} else {
  void SssCluster.run(bootstrap, { workers }).then((primary) => {
    if (primary) console.log(`READY ${[process.pid, ...primary.workerPids].join(',')}`);
  });
}
