import type { NatsConnection } from '@nats-io/transport-node';

/**
 * The oldest nats-server Parley supports in production: 2.10.23 has `jetstream { sync_interval: always }` and the
 * JetStream fixes for clustered streams after unclean restarts. Parley still runs on older servers (2.9.10 in
 * development) and says so at start.
 */
export const MIN_PRODUCTION_NATS_SERVER = '2.10.23';

const parse = (version: string): number[] | undefined => {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
};

/** Negative when a is older than b, 0 when equal, positive when newer; undefined when either is not a version. */
export function compareVersions(a: string, b: string): number | undefined {
  const va = parse(a);
  const vb = parse(b);
  if (!va || !vb) return undefined;
  for (let i = 0; i < 3; i++) if (va[i] !== vb[i]) return va[i] - vb[i];
  return 0;
}

/** A warning for a server older than the production minimum (or of unknown version); undefined when it is recent enough. */
export function natsServerVersionWarning(version: string | undefined): string | undefined {
  if (!version) return `nats-server did not say its version; production needs ${MIN_PRODUCTION_NATS_SERVER} or newer`;
  const order = compareVersions(version, MIN_PRODUCTION_NATS_SERVER);
  if (order === undefined) return `nats-server version "${version}" is not a version number; production needs ${MIN_PRODUCTION_NATS_SERVER} or newer`;
  if (order < 0) return `nats-server ${version} is older than ${MIN_PRODUCTION_NATS_SERVER}, the oldest supported in production (no sync_interval: always; clustered JetStream fixes missing)`;
  return undefined;
}

interface VersionLogger {
  log(message: unknown): void;
  warn(message: unknown): void;
}

/** Logs the connected server's version, and warns when it is older than production needs. */
export function reportNatsServerVersion(nc: Pick<NatsConnection, 'info'>, logger: VersionLogger): void {
  const version = nc.info?.version;
  logger.log({ msg: 'connected to nats-server', version: version ?? 'unknown', serverName: nc.info?.server_name, minimumForProduction: MIN_PRODUCTION_NATS_SERVER });
  const warning = natsServerVersionWarning(version);
  if (warning) logger.warn({ msg: warning, version: version ?? 'unknown', minimumForProduction: MIN_PRODUCTION_NATS_SERVER });
}
