import { Injectable } from '@nestjs/common';
import { CannedListRequest, CannedRemoveRequest, CannedSaveRequest, SUBJECTS } from '@parley/contracts';
import { SHARED_CANNED_OWNER, cannedResponsesAggregate } from '@parley/domain';
import { CommandHandler } from '@parley/event-store';
import { Handles, type RequestContext, commandContext } from '@parley/service-kit';

const stream = (owner: string) => cannedResponsesAggregate.stream(owner);

/** Canned responses, shared and personal: one small aggregate per owner (not session-specific). */
@Injectable()
export class CannedResponsesHandler {
  constructor(private readonly commands: CommandHandler) {}

  @Handles(SUBJECTS.cannedSave, CannedSaveRequest)
  async save(req: CannedSaveRequest, ctx: RequestContext) {
    await this.commands.handle(
      stream(req.owner),
      { kind: 'save', cannedId: req.cannedId, shortcut: req.shortcut, title: req.title, body: req.body, by: req.by, now: ctx.now },
      commandContext(ctx.now, req.by),
    );
    return { owner: req.owner, cannedId: req.cannedId };
  }

  @Handles(SUBJECTS.cannedRemove, CannedRemoveRequest)
  async remove(req: CannedRemoveRequest, ctx: RequestContext) {
    await this.commands.handle(stream(req.owner), { kind: 'remove', cannedId: req.cannedId, by: req.by, now: ctx.now }, commandContext(ctx.now, req.by));
    return { owner: req.owner, cannedId: req.cannedId, removed: true };
  }

  @Handles(SUBJECTS.cannedList, CannedListRequest)
  async list(req: CannedListRequest) {
    const owners = [SHARED_CANNED_OWNER, ...(req.agentId && req.agentId !== SHARED_CANNED_OWNER ? [req.agentId] : [])];
    const responses = [];
    for (const owner of owners) {
      // Verified: the other instance of registration may have saved or removed one since this one last looked.
      const { state } = await this.commands.load(stream(owner), { verify: true });
      for (const r of Object.values(state.responses)) responses.push({ ...r, owner: owner === SHARED_CANNED_OWNER ? 'shared' : 'personal' });
    }
    return { responses: responses.sort((a, b) => a.shortcut.localeCompare(b.shortcut)) };
  }
}
