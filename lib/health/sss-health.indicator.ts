import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { Scaler } from '../scaler/scaler.interface.js';
import { SssServer } from '../server/sss.server.js';
import { SSS_SCALER } from '../sss.constants.js';

/**
 * A `@nestjs/terminus` health indicator for the sockets module: whether the scaler's services
 * answer (Redis, and MongoDB for `MongoRedisScaler`; the embedded scaler is always up), and, for
 * readiness, whether this instance is draining (shutting down, closing its sockets with 1001).
 * Provide it in a module that imports `TerminusModule` and sees `SssModule`.
 *
 * @example
 * ```ts
 * @Controller('health')
 * export class HealthController {
 *   constructor(private readonly health: HealthCheckService, private readonly sss: SssHealthIndicator) {}
 *
 *   @Get() @HealthCheck()
 *   check() { return this.health.check([() => this.sss.isHealthy('sss')]); }
 *
 *   @Get('ready') @HealthCheck()
 *   ready() { return this.health.check([() => this.sss.isReady('sss')]); }
 * }
 * ```
 */
@Injectable()
export class SssHealthIndicator {
  constructor(
    private readonly healthIndicatorService: HealthIndicatorService,
    @Inject(SSS_SCALER) private readonly scaler: Scaler,
    private readonly server: SssServer,
  ) {}

  /** Up when every service the scaler depends on answers (each check waits at most a second). */
  async isHealthy<const Key extends string>(key: Key): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.healthIndicatorService.check(key);
    const services = (await this.scaler.checkHealth?.()) ?? {};
    const down = Object.values(services).some((service) => !service.up);
    return down ? indicator.down({ ...services }) : indicator.up({ ...services });
  }

  /** As `isHealthy`, and down while the instance drains on shutdown: a load balancer stops sending it clients. */
  async isReady<const Key extends string>(key: Key): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.healthIndicatorService.check(key);
    if (this.server.draining) return indicator.down({ draining: true });
    const services = (await this.scaler.checkHealth?.()) ?? {};
    const down = Object.values(services).some((service) => !service.up);
    return down ? indicator.down({ draining: false, ...services }) : indicator.up({ draining: false, ...services });
  }
}
