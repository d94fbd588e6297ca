import { Inject, Injectable } from '@nestjs/common';
import { type ContactCenterView, contactCenterProjection } from '@parley/domain';
import type { EventStore } from '@parley/event-store';
import { EVENT_STORE, LiveProjection } from '@parley/service-kit';

export const queuesProjection = contactCenterProjection('reporting-queues');

/** Queue state as a projection of session and agent events. */
@Injectable()
export class QueueViewService extends LiveProjection<ContactCenterView> {
  constructor(@Inject(EVENT_STORE) store: EventStore) {
    super(store, queuesProjection);
  }
}
