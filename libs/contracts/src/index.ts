export * from './subjects.js';
export * from './requests.js';
export * from './deliveries.js';
