import type { TestProject } from 'vitest/node';
import { TestMongo } from './support/test-services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `mongodb://host:port` of the MongoDB-compatible server the run shares (a database per suite). */
    mongoBaseUrl: string;
    mongoKind: string;
  }
}

let mongo: TestMongo | undefined;

/** Starts the MongoDB-compatible server that every suite shares; Redis is started per suite. */
export async function setup(project: TestProject): Promise<void> {
  mongo = await TestMongo.start();
  project.provide('mongoBaseUrl', mongo.uri('').replace(/\/$/, ''));
  project.provide('mongoKind', mongo.kind);
  console.log(`MongoDB-compatible server for this run: ${mongo.kind}`);
}

export async function teardown(): Promise<void> {
  await mongo?.stop();
}
