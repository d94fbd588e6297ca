export * from './free-port.js';
export * from './executable.js';
export * from './nats-auth.js';
export * from './nats-server.launcher.js';
export * from './service.launcher.js';
export * from './prosody.launcher.js';
export * from './schema-arbitrary.js';
export * from './tls-certificates.js';
