export * from './session.decider.js';
export * from './agent.decider.js';
export * from './entry-point.decider.js';
export * from './contact-center.view.js';
export * from './routing-policy.js';
export * from './localized-text.js';
export * from './business-hours.js';
export * from './intake-flow.js';
