/**
 * Starts an app of the compiled package as if prom-client and @nestjs/terminus were not installed
 * (Node's resolver refuses them, as it does a package that is absent), with metrics on or off as
 * argv[2] says, and prints what happened as one JSON line.
 */
import module from 'node:module';

const MISSING = ['prom-client', '@nestjs/terminus'];

interface ResolveHooks {
  resolve(specifier: string, context: unknown, nextResolve: (specifier: string, context: unknown) => unknown): unknown;
}

const { registerHooks } = module as unknown as { registerHooks?: (hooks: ResolveHooks) => void };
if (typeof registerHooks !== 'function') throw new Error('module.registerHooks is missing: Node >= 22.15 is needed.');
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (MISSING.some((name) => specifier === name || specifier.startsWith(`${name}/`))) {
      throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
    }
    return nextResolve(specifier, context);
  },
});

const { NestFactory } = await import('@nestjs/core');
const { SssModule } = await import('../../../lib/index.js');
const { MongoRedisScaler } = await import('../../../lib/mongo-redis.js');

try {
  // The Mongo + Redis entry point loads too (its scaler is not started here).
  if (typeof MongoRedisScaler !== 'function') throw new Error('mongo-redis entry point did not load');
  const app = await NestFactory.create(SssModule.forRoot({ metrics: process.argv[2] === 'on' }), {
    logger: false,
    abortOnError: false,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  await app.close();
  console.log(JSON.stringify({ started: true, port }));
} catch (error) {
  console.log(JSON.stringify({ started: false, name: (error as Error).name, message: (error as Error).message }));
}
