import { Controller, Get, Header, HttpCode, Inject, Res } from '@nestjs/common';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { MetricsService } from './metrics.service.js';
import { ReadinessChecks } from './readiness.js';
import { NATS_CONNECTION } from './tokens.js';

interface HttpResponse {
  status(code: number): HttpResponse;
  json(body: unknown): void;
}

const within = <T>(p: Promise<T>, ms: number): Promise<T> => Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

@Controller()
export class HealthController {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly metrics: MetricsService,
    private readonly extra: ReadinessChecks,
  ) {}

  /** The process runs and its event loop answers. */
  @Get('health/live')
  @HttpCode(200)
  live() {
    return { status: 'ok' };
  }

  /** Ready only while NATS and JetStream answer now; turns back by itself when they return. */
  @Get('health/ready')
  async ready(@Res() res: HttpResponse) {
    const checks: Record<string, string> = {};
    try {
      if (this.nc.isClosed()) throw new Error('connection closed');
      await within(this.nc.flush(), 1_000);
      checks.nats = 'ok';
      const jsm = await within(jetstreamManager(this.nc, { timeout: 1_000 }), 1_500);
      await within(jsm.getAccountInfo(), 1_500);
      checks.jetstream = 'ok';
    } catch (err) {
      checks[checks.nats ? 'jetstream' : 'nats'] = (err as Error).message;
      res.status(503).json({ status: 'unavailable', checks });
      return;
    }
    let ready = true;
    for (const [name, check] of this.extra.entries()) {
      try {
        await within(Promise.resolve(check()), 1_500);
        checks[name] = 'ok';
      } catch (err) {
        checks[name] = (err as Error).message;
        ready = false;
      }
    }
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async prometheus() {
    return this.metrics.registry.metrics();
  }
}
