import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { SseHub } from '../../../src/index.js';

/** How long the broker may take to answer before the probe counts it down. */
export const BROKER_CHECK_TIMEOUT_MS = 1000;

/**
 * The README's readiness recipe: the hub's broker as a terminus indicator. `down` fails the
 * check (503, the instance leaves the load balancer); `degraded` (a reader reconnecting) keeps
 * it in, since streams resume from history once the reader is back.
 */
@Controller('health')
export class ReadinessController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly hub: SseHub,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.broker()]);
  }

  private async broker() {
    const indicator = this.indicators.check('sse-broker');
    try {
      const { status, details } = await this.hub.health({
        signal: AbortSignal.timeout(BROKER_CHECK_TIMEOUT_MS),
      });
      if (status === 'down')
        return indicator.down({ message: 'SSE broker unreachable', ...details });
      return status === 'degraded' ? indicator.degraded(details) : indicator.up(details);
    } catch (error) {
      // A check that timed out or failed is a broker that is not ready (503), not a 500.
      return indicator.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }
}
