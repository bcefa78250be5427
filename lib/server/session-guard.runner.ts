import { ForbiddenException, Inject, Injectable, type CanActivate, type OnModuleInit, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SssExecutionContextHost } from '../context/sss-execution-context-host.js';
import { isObservable, lastValueFrom } from 'rxjs';
import type { ResolvedSssOptions } from '../interfaces/resolved-options.interface.js';
import type { SssHandshake } from '../interfaces/sss-handshake.interface.js';
import type { SssGuard } from '../interfaces/sss-module-options.interface.js';
import type { SssUpgradeRequest } from '../interfaces/sss-request.interface.js';
import { SSS_RESOLVED_OPTIONS } from '../sss.constants.js';
import { SssMessages } from '../sss.messages.js';

/**
 * Runs the session guards on an HTTP upgrade. Guards are ordinary Nest guards created with
 * dependency injection; their context has type `'sss'`, `switchToHttp().getRequest()` is the
 * upgrade request, and `SssExecutionContext.create(ctx).getHandshake()` the handshake to fill in.
 */
@Injectable()
export class SessionGuardRunner implements OnModuleInit {
  private guards: CanActivate[] = [];

  constructor(
    @Inject(SSS_RESOLVED_OPTIONS) private readonly options: ResolvedSssOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onModuleInit(): Promise<void> {
    this.guards = await Promise.all(this.options.sessionGuards.map((guard) => this.resolve(guard)));
  }

  /**
   * Resolves when every guard allows the upgrade; throws the HttpException to answer with
   * otherwise, or an error (answered 500 and logged) when a guard set an unusable `presence`.
   */
  async check(handshake: SssHandshake): Promise<void> {
    if (this.guards.length === 0) return;
    await this.runGuards(handshake);
    if (handshake.presence !== undefined && !isPresenceInfo(handshake.presence)) {
      throw new Error(SssMessages.invalidPresenceInfo(MAX_PRESENCE_INFO_BYTES));
    }
  }

  private async runGuards(handshake: SssHandshake): Promise<void> {
    const request: SssUpgradeRequest = { kind: 'upgrade', handshake };
    const context = new SssExecutionContextHost(
      [handshake.request, undefined, request, this.options.path],
      SessionGuardRunner as Type,
      SessionGuardRunner.prototype.check,
    );
    for (const guard of this.guards) {
      const verdict = guard.canActivate(context);
      const allowed = isObservable(verdict) ? await lastValueFrom(verdict) : await verdict;
      if (!allowed) throw new ForbiddenException(SssMessages.forbidden);
    }
  }

  private async resolve(guard: SssGuard): Promise<CanActivate> {
    if (typeof guard !== 'function') return guard;
    try {
      return this.moduleRef.get(guard, { strict: false });
    } catch {
      // Not registered as a provider: create it here, injecting what SssModule can see.
    }
    try {
      return await this.moduleRef.create(guard);
    } catch (error) {
      throw new Error(`${SssMessages.unresolvableSessionGuard(guard.name)} ${(error as Error).message}`);
    }
  }
}

/** The largest JSON of `handshake.presence`: it travels with every presence entry and event. */
const MAX_PRESENCE_INFO_BYTES = 1_024;

function isPresenceInfo(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    return false;
  }
  return Buffer.byteLength(json) <= MAX_PRESENCE_INFO_BYTES;
}
