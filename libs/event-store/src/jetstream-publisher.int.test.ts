import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@parley/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamPublisher, NoStreamForSubjectError, PublishInterruptedError, PublishTimeoutError } from './jetstream-publisher.js';

let server: NatsServerHandle;
let nc: NatsConnection;
let publisher: JetStreamPublisher;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  await (await jetstreamManager(nc)).streams.add({ name: 'PUB', subjects: ['pub.>'] });
  publisher = new JetStreamPublisher(nc);
});

afterAll(async () => {
  publisher?.close();
  await nc?.close();
  await server?.stop();
});

describe('JetStreamPublisher', () => {
  it('resolves each publish with its own acknowledgement, many in flight at once', async () => {
    const acks = await Promise.all(Array.from({ length: 500 }, (_, i) => publisher.publish(`pub.many.${i % 7}`, `m${i}`)));
    expect(new Set(acks.map((a) => a.seq)).size).toBe(500);
    expect(acks.every((a) => a.stream === 'PUB' && !a.duplicate)).toBe(true);
    const info = await (await jetstreamManager(nc)).streams.info('PUB');
    expect(info.state.messages).toBeGreaterThanOrEqual(500);
  });

  it('stores a repeated message ID once and says it was a duplicate', async () => {
    const first = await publisher.publish('pub.dup', 'x', { msgID: 'same-id' });
    const again = await publisher.publish('pub.dup', 'x', { msgID: 'same-id' });
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
  });

  it("refuses a publish whose expected last subject sequence is not the subject's, with nats.js's typed error", async () => {
    const first = await publisher.publish('pub.cas', 'a', { expect: { lastSubjectSequence: 0 } });
    await publisher.publish('pub.cas', 'b', { expect: { lastSubjectSequence: first.seq } });
    const stale = await publisher.publish('pub.cas', 'c', { expect: { lastSubjectSequence: first.seq } }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(JetStreamApiError);
    expect((stale as JetStreamApiError).code).toBe(JetStreamApiCodes.StreamWrongLastSequence);
  });

  it('keeps headers the caller gives beside its own', async () => {
    const h = headers();
    h.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    const ack = await publisher.publish('pub.headers', 'x', { msgID: 'with-headers', headers: h });
    const stored = await (await jetstreamManager(nc)).streams.getMessage('PUB', { seq: ack.seq });
    expect(stored?.header.get('traceparent')).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(stored?.header.get('Nats-Msg-Id')).toBe('with-headers');
  });

  it('fails fast on a subject no stream takes', async () => {
    await expect(publisher.publish('nowhere.at.all', 'x')).rejects.toBeInstanceOf(NoStreamForSubjectError);
  });

  it('times out a publish nobody acknowledges', async () => {
    // A plain subscriber on the subject never answers: what a JetStream leader lost mid-publish looks like.
    const silent = nc.subscribe('silent.subject');
    const short = new JetStreamPublisher(nc, 300);
    try {
      await expect(short.publish('silent.subject', 'x')).rejects.toBeInstanceOf(PublishTimeoutError);
    } finally {
      short.close();
      silent.unsubscribe();
    }
  });

  it('fails publishes in flight as soon as the connection drops, not at the timeout, and works again after', async () => {
    const silent = nc.subscribe('silent.until.drop');
    const long = new JetStreamPublisher(nc, 60_000);
    try {
      const waiting = long.publish('silent.until.drop', 'x').catch((e: unknown) => e);
      await nc.flush();
      const jsm = await jetstreamManager(nc);
      const dropped = Date.now();
      await server.pause();
      expect(await waiting).toBeInstanceOf(PublishInterruptedError);
      expect(Date.now() - dropped).toBeLessThan(10_000);
      await server.start();
      // Once reconnected and JetStream has loaded the stream again (a condition, polled), the same publisher works.
      for (
        let tries = 0;
        !(await jsm.streams.info('PUB').then(
          () => true,
          () => false,
        ));
        tries++
      ) {
        if (tries > 100) throw new Error('JetStream did not come back');
        await new Promise((r) => setTimeout(r, 100));
      }
      const ack = await long.publish('pub.after.drop', 'x');
      expect(ack.stream).toBe('PUB');
    } finally {
      long.close();
      silent.unsubscribe();
    }
  });
});
