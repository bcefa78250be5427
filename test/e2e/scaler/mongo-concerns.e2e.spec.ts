import { randomUUID } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import type { mongo } from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { MongoRedisScaler, type MongoRedisScalerOptions } from '../../../lib/mongo-redis.js';
import type { ScalerListener } from '../../../lib/scaler/scaler.interface.js';
import { TestRedis } from '../../support/test-services.js';

const idle: ScalerListener = { onMessage: () => undefined, onSignal: () => undefined, onPresence: () => undefined };

/**
 * The write and read concerns of history reach the server: every command the driver sends is
 * watched (command monitoring) against the real MongoDB-compatible server of the run. NOTE: on
 * FerretDB (no replica set) this proves the plumbing and that the server accepts the concerns, not
 * what a replica set does with them (rollback, elections).
 */
describe('MongoRedisScaler write and read concerns', () => {
  let redis: TestRedis;
  let connection: Connection;
  let commands: mongo.CommandStartedEvent[] = [];
  const scalers: MongoRedisScaler[] = [];

  beforeAll(async () => {
    redis = await TestRedis.start();
    connection = await mongoose
      .createConnection(`${inject('mongoBaseUrl')}/concerns_${randomUUID().slice(0, 8)}`, { monitorCommands: true })
      .asPromise();
    connection.getClient().on('commandStarted', (event) => commands.push(event));
  });

  afterEach(async () => {
    await Promise.all(scalers.splice(0).map((scaler) => scaler.close()));
  });

  afterAll(async () => {
    await connection?.close();
    await redis?.stop();
  });

  /** Publishes on a fresh prefix and recovers from the store; the commands sent meanwhile. */
  async function publishAndRecover(options: Partial<MongoRedisScalerOptions>): Promise<mongo.CommandStartedEvent[]> {
    const prefix = `c${randomUUID().slice(0, 6)}`;
    // No Redis window: the recovery reads the store.
    const scaler = new MongoRedisScaler({ redis: redis.url, mongo: connection, prefix, recentInRedis: 0, ...options });
    scalers.push(scaler);
    await scaler.connect(idle);
    commands = [];
    const first = await scaler.publish('room', 'chat', 'one');
    await scaler.publish('room', 'chat', 'two');
    const history = await scaler.historySince('room', { epoch: first.epoch, seq: 0 });
    expect(history).toMatchObject({ recovered: true });
    expect(history.recovered && history.messages.map((message) => message.data)).toEqual(['one', 'two']);
    return commands.filter((event) => JSON.stringify(event.command).includes(prefix));
  }

  const of = (events: mongo.CommandStartedEvent[], name: string) =>
    events.filter((event) => event.commandName === name).map((event) => event.command);

  it("writes history with w: 'majority' and reads it with read concern majority by default", async () => {
    const events = await publishAndRecover({});
    const inserts = of(events, 'insert');
    expect(inserts.length).toBeGreaterThan(0);
    for (const insert of inserts) expect(insert.writeConcern).toEqual({ w: 'majority' });
    for (const upsert of of(events, 'findAndModify')) expect(upsert.writeConcern).toEqual({ w: 'majority' });
    const finds = of(events, 'find');
    expect(finds.length).toBeGreaterThan(0);
    for (const find of finds) expect(find.readConcern).toEqual({ level: 'majority' });
  });

  it('sends the configured write and read concern', async () => {
    const events = await publishAndRecover({
      writeConcern: { w: 1, journal: true, wtimeoutMS: 2_000 },
      readConcern: 'local',
    });
    const inserts = of(events, 'insert');
    expect(inserts.length).toBeGreaterThan(0);
    for (const insert of inserts) expect(insert.writeConcern).toEqual({ w: 1, j: true, wtimeout: 2_000 });
    const finds = of(events, 'find');
    expect(finds.length).toBeGreaterThan(0);
    for (const find of finds) expect(find.readConcern).toEqual({ level: 'local' });
  });
});
