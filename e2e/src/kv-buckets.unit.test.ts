// Every JetStream KV bucket Parley creates is stored as PARLEY_STREAM_REPLICAS / PARLEY_STREAM_STORAGE ask, which
// only openKvBucket (libs/event-store/src/stream-durability.ts) does. The HA rehearsal found gateway-web's two
// buckets created with `new Kvm(nc).create(...)`: one replica whatever the deployment asked, so losing the NATS node
// holding them stopped sign-outs and pre-chat answers on a three-node cluster.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT, read } from './source-facts.js';

const sources = (dir: string): string[] =>
  readdirSync(ROOT + dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') && !`${e.parentPath}/`.includes('/dist/'))
    .map((e) => `${e.parentPath.slice(ROOT.length)}/${e.name}`);

describe('KV buckets', () => {
  const files = [...sources('services'), ...sources('libs')].filter((f) => !f.startsWith('libs/testing/'));

  it('are created only through openKvBucket, with the replicas and storage the deployment asks for', () => {
    const direct = files.filter((f) => f !== 'libs/event-store/src/stream-durability.ts' && /new Kvm\([^)]*\)\s*\.create\(|kvm\.create\(/i.test(read(f)));
    expect(direct).toEqual([]);
  });

  it('the check sees the buckets it guards (gateway-web opens two)', () => {
    const opening = files.filter((f) => f.startsWith('services/gateway-web/') && read(f).includes('openKvBucket('));
    expect(opening.sort()).toEqual(['services/gateway-web/src/live-events.service.ts', 'services/gateway-web/src/token-revocations.service.ts']);
  });
});
