export interface ClientDetails {
  name: string;
  version: string;
  capabilities: string[];
}

/** What Parley says to a customer, on `parley.v1.im.deliver.<channel>`. Never carries an agent's id or address. */
export interface CustomerDelivery {
  deliveryId: string;
  sessionId: string;
  to: string;
  from: string;
  kind: 'text' | 'status' | 'system';
  body: string;
  status?: { position: number; estimatedWaitSeconds: number; reason?: 'priority'; lowSeconds?: number; highSeconds?: number };
  /** Added in v1: for kind text, the agent's display name (an alias; never their ID or address). */
  agentName?: string;
}

/** What Parley says to an agent, on `parley.v1.agent.deliver.<agentId>`. Never carries the customer's own address. */
export interface AgentDelivery {
  deliveryId: string;
  /** Added in v1: `system` for Parley's own notices about a session (a silent customer, say). */
  kind: 'offer' | 'message' | 'session-ended' | 'offer-revoked' | 'system';
  sessionId: string;
  offerId?: string;
  expiresAt?: string;
  from?: string;
  body?: string;
  customer?: { channel: string; client: ClientDetails | null; locale: string | null; answers: Record<string, string> };
  /** Added in v1: for kind message, who wrote it (a transferred session's transcript has both). */
  author?: 'customer' | 'agent';
}

export interface SubscribeReply {
  status: 'available' | 'unavailable';
  sessionId?: string;
  sessionAddress?: string;
  reason?: 'not-registered' | 'closed' | 'overloaded';
  /** Added in v1: words for the customer (closed, overloaded, leave a message), in their locale. */
  message?: string;
  /** Added in v1: when a closed entry point opens next. */
  opensAt?: string | null;
}

/** Added in v1: the reply of parley.v1.im.session.lookup. */
export interface SessionLookupReply {
  open: boolean;
  sessionId?: string;
  sessionAddress?: string;
}

export interface QueueStats {
  queueId: string;
  waiting: number;
  longestWaitSeconds: number;
  agentsAvailable: number;
  agentsBusy: number;
  estimatedWaitSeconds: number;
}

/** Fields that carry a customer's own address or ID: only buffer (readdressing) and presence-proxy hold them. */
export const CUSTOMER_IDENTITY_FIELDS = ['customerAddress', 'customerId'] as const;

/**
 * A copy of a projection or view with every customer's own address and ID replaced by "(redacted)", for replies
 * that leave the service (parley.v1.reporting.projection.queues). Iterative, so any depth is fine.
 */
export function redactCustomerIdentity<T>(value: T): T {
  const copy = structuredClone(value) as unknown;
  const stack: unknown[] = [copy];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    for (const [k, child] of Object.entries(v)) {
      if ((CUSTOMER_IDENTITY_FIELDS as readonly string[]).includes(k) && child !== null && child !== undefined) (v as Record<string, unknown>)[k] = '(redacted)';
      else stack.push(child);
    }
  }
  return copy as T;
}
