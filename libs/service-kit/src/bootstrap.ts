import 'reflect-metadata';
import { subscribe } from 'node:diagnostics_channel';
import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { errors as natsErrors } from '@nats-io/transport-node';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type JetStreamWait, jetStreamWaits } from '@parley/event-store';
import { PAYLOAD_LIMITS } from './payload-guard.js';
import { JsonLogger } from './json-logger.js';
import { ConfigError, type ServiceConfig, loadConfig, redactUrls } from './service-config.js';
import { startTracing, stopTracing, traceHttpRequests, tracingEnabled } from './tracing.js';

export interface ServiceDefinition<C extends ServiceConfig> {
  name: string;
  config: new () => C;
  module: (config: C) => DynamicModule;
}

/** Builds a service's Nest application without listening (used by tests with supertest). */
export async function createServiceApp<C extends ServiceConfig>(definition: ServiceDefinition<C>, config: C, module = definition.module(config)): Promise<INestApplication> {
  const logger = new JsonLogger(definition.name, config.LOG_LEVEL);
  const app = await NestFactory.create<NestExpressApplication>(module, { logger, abortOnError: false });
  // HTTP bodies have the same byte limit as NATS requests; a larger one is 413 before it is parsed.
  app.useBodyParser('json', { limit: PAYLOAD_LIMITS.maxBytes });
  if (tracingEnabled()) app.use(traceHttpRequests);
  return app;
}

/**
 * Configuration problems stop a service before it starts: bad variables, a bad configuration file, and
 * credentials nats-server refuses (a wrong seed file or password is the deployment's mistake, not a crash).
 */
function configurationProblem(err: unknown): { message: string; problems: string[] } | null {
  if (err instanceof ConfigError || (err instanceof Error && Array.isArray((err as { problems?: unknown }).problems))) {
    return { message: err.message, problems: (err as { problems: string[] }).problems };
  }
  if (err instanceof natsErrors.AuthorizationError || err instanceof natsErrors.UserAuthenticationExpiredError) {
    const problem = `nats-server refused this service's credentials (${err.message}): check NATS_NKEY_SEED_FILE or NATS_USER/NATS_PASSWORD against the server's users`;
    return { message: problem, problems: [problem] };
  }
  return null;
}

/** Exits 78 (EX_CONFIG) with one line per problem when `err` is a configuration problem; returns otherwise. */
function exitOnConfigurationProblem(service: string, err: unknown): void {
  const found = configurationProblem(err);
  if (!found) return;
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', service, msg: 'invalid configuration', problems: found.problems })}\n`);
  process.stderr.write(`parley-${service}: ${found.message}\n`);
  process.exit(78);
}

/** The `main` of every service: validated config, JSON logs, HTTP health and metrics, drain on SIGTERM. */
export async function runService<C extends ServiceConfig>(definition: ServiceDefinition<C>): Promise<void> {
  let config: C;
  let module: DynamicModule;
  try {
    config = loadConfig(definition.config);
    module = definition.module(config);
  } catch (err) {
    exitOnConfigurationProblem(definition.name, err);
    throw err;
  }
  const logger = new JsonLogger(definition.name, config.LOG_LEVEL);
  // Set-up steps that wait for JetStream (a cluster electing leaders) say so, one line per retry, instead of exiting.
  subscribe(jetStreamWaits.name, (wait) => {
    const { what, attempt, error, waitedMs } = wait as JetStreamWait;
    logger.warn({ msg: 'JetStream is not answering yet; setting up again', what, attempt, error, waitedMs });
  });
  // Before the application is built: the event store and the platform read whether tracing is on.
  const tracing = await startTracing(definition.name, config);
  // A stream or bucket stored otherwise than PARLEY_STREAM_* ask (StreamDurabilityError) is a configuration problem too.
  const app = await createServiceApp(definition, config, module).catch((err: unknown) => {
    exitOnConfigurationProblem(definition.name, err);
    throw err;
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log({ msg: 'shutting down: draining in-flight work', signal });
    const force = setTimeout(() => {
      logger.error({ msg: 'shutdown timed out; exiting', timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    // Spans still batched are exported before the process goes.
    app
      .close()
      .then(stopTracing)
      .then(
        () => {
          logger.log({ msg: 'stopped' });
          process.exit(0);
        },
        (err: unknown) => {
          logger.error(err as Error);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await app.listen(config.HTTP_PORT, config.HTTP_HOST).catch((err: unknown) => {
    exitOnConfigurationProblem(definition.name, err);
    throw err;
  });
  const address = app.getHttpServer().address() as { port: number } | null;
  logger.log({
    msg: 'ready',
    nats: redactUrls(config.NATS_URL),
    natsUser: config.NATS_NKEY_SEED_FILE ? 'nkey' : 'none',
    natsTls: config.NATS_TLS_CA_FILE ? 'on' : 'off',
    tracing: tracing ? redactUrls(config.OTEL_EXPORTER_OTLP_ENDPOINT) : 'off',
    http: `http://${config.HTTP_HOST}:${address?.port ?? config.HTTP_PORT}`,
  });
}
