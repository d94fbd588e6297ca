import { describeEventStoreContract } from './event-store.contract.js';
import { InMemoryEventStore } from './in-memory-event-store.adapter.js';

describeEventStoreContract('in-memory', async (upcasters) => new InMemoryEventStore(upcasters));
