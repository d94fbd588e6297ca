import type { StoredEvent } from './event-store.port.js';

/** Turns the data of `type` at `fromVersion` into its shape at `fromVersion + 1`. Type names never change. */
export interface Upcaster {
  type: string;
  fromVersion: number;
  upcast(data: unknown): unknown;
}

export class Upcasters {
  private readonly byKey = new Map<string, Upcaster>();

  constructor(upcasters: readonly Upcaster[] = []) {
    for (const u of upcasters) this.byKey.set(`${u.type}@${u.fromVersion}`, u);
  }

  /** Applies every step from the stored version upwards; events already current pass through untouched. */
  apply(event: StoredEvent): StoredEvent {
    let current = event;
    for (;;) {
      const step = this.byKey.get(`${current.type}@${current.schemaVersion}`);
      if (!step) return current;
      current = { ...current, schemaVersion: current.schemaVersion + 1, data: step.upcast(current.data) };
    }
  }
}
