/** Every NATS subject of the v1 contract. The AsyncAPI file (docs/asyncapi.yaml) is checked against this list. */
export const SUBJECTS = {
  registrationRegister: 'parley.v1.registration.register',
  registrationHeartbeat: 'parley.v1.registration.heartbeat',
  registrationUnregister: 'parley.v1.registration.unregister',
  registrationLookup: 'parley.v1.registration.lookup',
  imSubscribe: 'parley.v1.im.subscribe',
  imMessage: 'parley.v1.im.message',
  imUnsubscribe: 'parley.v1.im.unsubscribe',
  /** Added in v1: a customer's open session at a published address, if any; never opens one. */
  imSessionLookup: 'parley.v1.im.session.lookup',
  agentLogin: 'parley.v1.agent.login',
  agentHeartbeat: 'parley.v1.agent.heartbeat',
  agentState: 'parley.v1.agent.state',
  agentOfferAccept: 'parley.v1.agent.offer.accept',
  agentOfferReject: 'parley.v1.agent.offer.reject',
  agentMessage: 'parley.v1.agent.message',
  agentSessionEnd: 'parley.v1.agent.session.end',
  /** Added in v1: hand a session to another queue or agent; it keeps its history and original arrival. */
  agentTransfer: 'parley.v1.agent.transfer',
  /** Added in v1: why a session went where it went, from the decision records on its events. */
  supervisorSessionExplain: 'parley.v1.supervisor.session.explain',
  /** Reporting's status reports for a waiting customer, readdressed by buffer (internal to Parley). */
  bufferStatus: 'parley.v1.buffer.status',
  statsQueue: 'parley.v1.stats.queue.*',
  /** Added in v1: every queue at once, with agents by state, service level, waiting sessions and the last hour. */
  statsQueues: 'parley.v1.stats.queues',
  /** The live queue projection and its position (operators, rebuild checks). */
  reportingProjection: 'parley.v1.reporting.projection.queues',
} as const;

export const imDeliverSubject = (channel: string) => `parley.v1.im.deliver.${channel}`;
export const agentDeliverSubject = (agentId: string) => `parley.v1.agent.deliver.${agentId}`;
export const statsQueueSubject = (queueId: string) => `parley.v1.stats.queue.${queueId}`;

export const DELIVERY_STREAM = 'PARLEY_DELIVERIES';
export const DELIVERY_SUBJECTS = ['parley.v1.im.deliver.>', 'parley.v1.agent.deliver.>'] as const;
