import { Inject, Injectable } from '@nestjs/common';
import { type ContactCenterView, contactCenterProjection } from '@parley/domain';
import type { EventStore } from '@parley/event-store';
import { EVENT_STORE, LiveProjection } from '@parley/service-kit';

/** The routable view: waiting sessions and agents. */
@Injectable()
export class RoutingViewService extends LiveProjection<ContactCenterView> {
  constructor(@Inject(EVENT_STORE) store: EventStore) {
    super(store, contactCenterProjection('router-view'));
  }
}
