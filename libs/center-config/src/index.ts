export * from './center-config.schema.js';
export * from './center-config.loader.js';
