import { Injectable } from '@nestjs/common';
import { type ContactCenterView, contactCenterProjection } from '@parley/domain';
import { LiveProjection, ProjectionSupport } from '@parley/service-kit';

export const queuesProjection = contactCenterProjection('reporting-queues');

/** Queue state as a projection of session and agent events, checkpointed. */
@Injectable()
export class QueueViewService extends LiveProjection<ContactCenterView> {
  constructor(support: ProjectionSupport) {
    super(support, queuesProjection);
  }
}
