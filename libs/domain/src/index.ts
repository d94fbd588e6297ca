export * from './session.decider.js';
export * from './agent.decider.js';
export * from './entry-point.decider.js';
export * from './contact-center.view.js';
export * from './routing-policy.js';
