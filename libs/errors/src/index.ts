export * from './parley-error.js';
