import { conflict, notFound } from '@parley/errors';
import { defineAggregate } from './aggregate.js';

/**
 * Canned responses: one small aggregate per owner (`shared`, or an agent ID for personal ones), on the stream
 * `parley.v1.evt.canned.<owner>`. Not session-specific, so they never touch a session's stream.
 */
export interface CannedResponse {
  cannedId: string;
  /** Typed as `/shortcut` in the desk's input; unique per owner. */
  shortcut: string;
  title: string;
  body: string;
  updatedBy: string;
  at: string;
}

export type CannedResponsesState = { responses: Record<string, CannedResponse> };

export type CannedResponsesEvent = { type: 'CannedResponseSaved'; data: CannedResponse } | { type: 'CannedResponseRemoved'; data: { cannedId: string; by: string; at: string } };

export type CannedResponsesCommand =
  { kind: 'save'; cannedId: string; shortcut: string; title: string; body: string; by: string; now: string } | { kind: 'remove'; cannedId: string; by: string; now: string };

const assertNever = (x: never): never => {
  throw new Error(`unhandled: ${JSON.stringify(x)}`);
};

export const SHARED_CANNED_OWNER = 'shared';

export const cannedResponsesDecider = {
  initialState: (): CannedResponsesState => ({ responses: {} }),

  decide(command: CannedResponsesCommand, state: CannedResponsesState): CannedResponsesEvent[] {
    switch (command.kind) {
      case 'save': {
        const clash = Object.values(state.responses).find((r) => r.shortcut === command.shortcut && r.cannedId !== command.cannedId);
        if (clash) throw conflict(`the shortcut /${command.shortcut} is already used`, { cannedId: clash.cannedId });
        const same = state.responses[command.cannedId];
        if (same && same.shortcut === command.shortcut && same.title === command.title && same.body === command.body) return [];
        return [{ type: 'CannedResponseSaved', data: { cannedId: command.cannedId, shortcut: command.shortcut, title: command.title, body: command.body, updatedBy: command.by, at: command.now } }];
      }
      case 'remove':
        if (!state.responses[command.cannedId]) throw notFound('no canned response with this id');
        return [{ type: 'CannedResponseRemoved', data: { cannedId: command.cannedId, by: command.by, at: command.now } }];
      default:
        return assertNever(command);
    }
  },

  evolve(state: CannedResponsesState, event: CannedResponsesEvent): CannedResponsesState {
    switch (event.type) {
      case 'CannedResponseSaved':
        return { responses: { ...state.responses, [event.data.cannedId]: event.data } };
      case 'CannedResponseRemoved': {
        const { [event.data.cannedId]: _gone, ...rest } = state.responses;
        return { responses: rest };
      }
      default:
        return assertNever(event);
    }
  },
};

export const cannedResponsesAggregate = defineAggregate('canned', cannedResponsesDecider);
