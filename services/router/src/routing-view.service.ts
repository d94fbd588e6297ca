import { Injectable } from '@nestjs/common';
import { type ContactCenterView, contactCenterProjection } from '@parley/domain';
import { LiveProjection, ProjectionSupport } from '@parley/service-kit';

/** The routable view: waiting sessions and agents, checkpointed. */
@Injectable()
export class RoutingViewService extends LiveProjection<ContactCenterView> {
  constructor(support: ProjectionSupport) {
    super(support, contactCenterProjection('router-view'));
  }
}
