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
  /** Added in v1: the customer rates a conversation (1-5 and a comment), after it or during it. */
  sessionRate: 'parley.v1.session.rate',
  /** Added in v1: an internal note on a session by its agent; never delivered to the customer. */
  agentNote: 'parley.v1.agent.note',
  /** Added in v1: a supervisor whispers to the agent of a session (seen by the agent only). */
  supervisorWhisper: 'parley.v1.supervisor.whisper',
  /** Added in v1: a supervisor takes a conversation over from its agent. */
  supervisorTakeOver: 'parley.v1.supervisor.takeover',
  /** Added in v1: a supervisor who took a conversation over writes to the customer. */
  supervisorMessage: 'parley.v1.supervisor.message',
  /** Added in v1: save a canned response (shared, or an agent's personal one). */
  cannedSave: 'parley.v1.canned.save',
  /** Added in v1: remove a canned response. */
  cannedRemove: 'parley.v1.canned.remove',
  /** Added in v1: the shared canned responses and an agent's personal ones. */
  cannedList: 'parley.v1.canned.list',
  /**
   * Added in v1: the agent requests on subjects that name the agent (`parley.v1.as.agent.<agentId>.<v1 subject
   * after parley.v1.>`). NATS permissions can grant a bot or a desktop bridge exactly its own agents' subjects;
   * the service refuses (forbidden) a payload whose agentId is not the one in the subject. docs/security.md.
   */
  asAgentLogin: 'parley.v1.as.agent.*.agent.login',
  asAgentHeartbeat: 'parley.v1.as.agent.*.agent.heartbeat',
  asAgentState: 'parley.v1.as.agent.*.agent.state',
  asAgentOfferAccept: 'parley.v1.as.agent.*.agent.offer.accept',
  asAgentOfferReject: 'parley.v1.as.agent.*.agent.offer.reject',
  asAgentMessage: 'parley.v1.as.agent.*.agent.message',
  asAgentSessionEnd: 'parley.v1.as.agent.*.agent.session.end',
  asAgentTransfer: 'parley.v1.as.agent.*.agent.transfer',
  /** Added in v1: the customer requests on subjects that name the channel (`parley.v1.as.channel.<channel>.im.*`). */
  asChannelImSubscribe: 'parley.v1.as.channel.*.im.subscribe',
  asChannelImMessage: 'parley.v1.as.channel.*.im.message',
  asChannelImUnsubscribe: 'parley.v1.as.channel.*.im.unsubscribe',
  asChannelImSessionLookup: 'parley.v1.as.channel.*.im.session.lookup',
} as const;

/** Which v1 request has a subject naming its actor, and the payload field that must equal the subject's token. */
export const BOUND_SUBJECTS: Readonly<Record<string, { subject: string; field: 'agentId' | 'channel' }>> = {
  [SUBJECTS.agentLogin]: { subject: SUBJECTS.asAgentLogin, field: 'agentId' },
  [SUBJECTS.agentHeartbeat]: { subject: SUBJECTS.asAgentHeartbeat, field: 'agentId' },
  [SUBJECTS.agentState]: { subject: SUBJECTS.asAgentState, field: 'agentId' },
  [SUBJECTS.agentOfferAccept]: { subject: SUBJECTS.asAgentOfferAccept, field: 'agentId' },
  [SUBJECTS.agentOfferReject]: { subject: SUBJECTS.asAgentOfferReject, field: 'agentId' },
  [SUBJECTS.agentMessage]: { subject: SUBJECTS.asAgentMessage, field: 'agentId' },
  [SUBJECTS.agentSessionEnd]: { subject: SUBJECTS.asAgentSessionEnd, field: 'agentId' },
  [SUBJECTS.agentTransfer]: { subject: SUBJECTS.asAgentTransfer, field: 'agentId' },
  [SUBJECTS.imSubscribe]: { subject: SUBJECTS.asChannelImSubscribe, field: 'channel' },
  [SUBJECTS.imMessage]: { subject: SUBJECTS.asChannelImMessage, field: 'channel' },
  [SUBJECTS.imUnsubscribe]: { subject: SUBJECTS.asChannelImUnsubscribe, field: 'channel' },
  [SUBJECTS.imSessionLookup]: { subject: SUBJECTS.asChannelImSessionLookup, field: 'channel' },
};

/** The subject on which `actor` (an agent ID or a channel) sends the v1 request `subject`. */
export function asActorSubject(subject: string, actor: string): string {
  const bound = BOUND_SUBJECTS[subject];
  if (!bound) throw new Error(`${subject} has no subject naming its actor`);
  return bound.subject.replace('*', actor);
}

export const imDeliverSubject = (channel: string) => `parley.v1.im.deliver.${channel}`;
export const agentDeliverSubject = (agentId: string) => `parley.v1.agent.deliver.${agentId}`;
export const statsQueueSubject = (queueId: string) => `parley.v1.stats.queue.${queueId}`;

export const DELIVERY_STREAM = 'PARLEY_DELIVERIES';
export const DELIVERY_SUBJECTS = ['parley.v1.im.deliver.>', 'parley.v1.agent.deliver.>'] as const;
