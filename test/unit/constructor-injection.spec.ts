import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';

@Injectable()
class Clock {
  now(): number {
    return 42;
  }
}

@Injectable()
class Greeter {
  constructor(private readonly clock: Clock) {}

  greet(): string {
    return `it is ${this.clock.now()}`;
  }
}

describe('the test transform', () => {
  it('emits decorator metadata, so constructor injection by type works', async () => {
    const moduleRef = await Test.createTestingModule({ providers: [Clock, Greeter] }).compile();
    expect(moduleRef.get(Greeter).greet()).toBe('it is 42');
    await moduleRef.close();
  });
});
