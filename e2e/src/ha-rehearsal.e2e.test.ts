// A shorter run of the high-availability rehearsal (`npm run rehearsal`, libs/testing/src/ha-rehearsal.ts): a
// three-node nats-server cluster with every stream at three replicas, two instances of each core service, a steady
// conversation, and during it a NATS node killed and brought back, the cluster restarted, the router and the buffer
// rolled (SIGTERM, replacement ready first) and killed (SIGKILL). The gateways are left to the full rehearsal: two
// more pairs of processes do not fit a loaded CI machine's time.
import { type RehearsalFigures, formatRehearsalFigures, runHaRehearsal } from '@parley/testing';
import { beforeAll, describe, expect, it } from 'vitest';

let figures: RehearsalFigures;

beforeAll(async () => {
  figures = await runHaRehearsal({
    agents: 4,
    capacity: 2,
    messagesPerSession: 3,
    progressDeliveries: 10,
    outageDeliveries: 20,
    services: ['registration', 'presence-proxy', 'buffer', 'router', 'reporting'],
    faultServices: ['buffer', 'router'],
    log: (line) => process.stderr.write(`  ${line}\n`),
  });
  process.stdout.write(formatRehearsalFigures(figures));
}, 300_000);

const gapOf = (kind: string) => figures.faults.find((f) => f.kind === kind)!;

describe('Parley on a three-node NATS cluster under faults', () => {
  it('loses and duplicates no acknowledged message, either way', () => {
    for (const m of [figures.customerMessages, figures.agentMessages]) {
      expect(m.acknowledged).toBeGreaterThan(50);
      expect(m.lostSample).toEqual([]);
      expect(m.duplicated).toBe(0);
    }
  });

  it('never assigns a session twice, lets no two agents hold one, and keeps every agent within capacity', () => {
    expect(figures.sessions).toBeGreaterThan(10);
    expect(figures.doubleAssignments).toEqual([]);
    expect(figures.doubleHolds).toEqual([]);
    expect(figures.overCapacity).toEqual([]);
  });

  it('ends with every service instance ready', () => {
    expect(figures.notReadyAtEnd).toEqual([]);
  });

  it('rolls services one instance at a time within the gap target', () => {
    const rolling = gapOf('rolling-restart');
    expect(rolling.offerGapMs).toBeLessThan(rolling.targetMs!);
    expect(rolling.deliveryGapMs).toBeLessThan(rolling.targetMs!);
  });

  it('recovers from the loss of a NATS node within the gap target', () => {
    const node = gapOf('node-loss');
    expect(node.offerGapMs).toBeLessThan(node.targetMs!);
    expect(node.deliveryGapMs).toBeLessThan(node.targetMs!);
  });

  it('recovers from a restart of the whole NATS cluster within the gap target', () => {
    const cluster = gapOf('cluster-restart');
    expect(cluster.offerGapMs).toBeLessThan(cluster.targetMs!);
    expect(cluster.deliveryGapMs).toBeLessThan(cluster.targetMs!);
  });
});
