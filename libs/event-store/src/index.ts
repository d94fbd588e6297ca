export * from './event-store.port.js';
export * from './upcasters.js';
export * from './event-id.js';
export * from './in-memory-event-store.adapter.js';
export * from './jetstream-event-store.adapter.js';
export * from './projection-runner.js';
export * from './command-handler.js';
export * from './kv-checkpoint-store.js';
