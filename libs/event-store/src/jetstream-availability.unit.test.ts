import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { errors as natsErrors } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { JetStreamUnavailableCodes, isJetStreamUnavailable, untilJetStreamAnswers } from './jetstream-availability.js';

const apiError = (status: number, code: number, description: string) => new JetStreamApiError({ code: status, err_code: code, description });

describe('isJetStreamUnavailable', () => {
  it('takes timeouts, no responders and a cluster without a leader for "not now"', () => {
    expect(isJetStreamUnavailable(new natsErrors.TimeoutError())).toBe(true);
    expect(isJetStreamUnavailable(new natsErrors.NoRespondersError('$JS.API.INFO'))).toBe(true);
    expect(isJetStreamUnavailable(new natsErrors.RequestError('request failed', { cause: new natsErrors.TimeoutError() }))).toBe(true);
    // As the JetStream API calls throw it: nats.js wraps a request that nobody answered.
    const noResponders = new natsErrors.RequestError('no responders', { cause: new natsErrors.NoRespondersError('$JS.API.STREAM.INFO.X') });
    const wrapped = Object.assign(new Error('jetstream is not enabled', { cause: noResponders }), { name: 'JetStreamNotEnabled' });
    expect(isJetStreamUnavailable(wrapped)).toBe(true);
    expect(isJetStreamUnavailable(apiError(503, JetStreamUnavailableCodes.ClusterNotAvailable, 'JetStream system temporarily unavailable'))).toBe(true);
    expect(isJetStreamUnavailable(apiError(500, JetStreamUnavailableCodes.ClusterNoPeers, 'no suitable peers for placement'))).toBe(true);
    expect(isJetStreamUnavailable(apiError(500, JetStreamUnavailableCodes.ClusterNotLeader, 'JetStream cluster can not handle request'))).toBe(true);
  });

  it('takes refusals for "no"', () => {
    expect(isJetStreamUnavailable(apiError(404, JetStreamApiCodes.StreamNotFound, 'stream not found'))).toBe(false);
    expect(isJetStreamUnavailable(apiError(400, 10058, 'stream name already in use with a different configuration'))).toBe(false);
    expect(isJetStreamUnavailable(new natsErrors.AuthorizationError('Authorization Violation'))).toBe(false);
    expect(isJetStreamUnavailable(new natsErrors.RequestError('request failed', { cause: new Error('bad') }))).toBe(false);
    expect(isJetStreamUnavailable('timeout')).toBe(false);
  });
});

describe('untilJetStreamAnswers', () => {
  it('tries again while JetStream is unavailable and returns what the step returns', async () => {
    let calls = 0;
    const value = await untilJetStreamAnswers('stream WAITING', async () => {
      calls++;
      if (calls < 3) throw new natsErrors.TimeoutError();
      return 'created';
    });
    expect(value).toBe('created');
    expect(calls).toBe(3);
  });

  it('does not wait out a refusal: any other error is thrown at once', async () => {
    let calls = 0;
    const refused = apiError(400, 10058, 'stream name already in use with a different configuration');
    await expect(
      untilJetStreamAnswers('stream REFUSED', async () => {
        calls++;
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(calls).toBe(1);
  });

  it('gives up at the deadline with the last error', async () => {
    let calls = 0;
    const unavailable = apiError(503, JetStreamUnavailableCodes.ClusterNotAvailable, 'JetStream system temporarily unavailable');
    await expect(
      untilJetStreamAnswers(
        'stream NEVER',
        async () => {
          calls++;
          throw unavailable;
        },
        650,
      ),
    ).rejects.toBe(unavailable);
    // 100 ms, then 200 ms: a third delay of 400 ms would pass the deadline (at ~700 ms). The margins hold with
    // timers up to 350 ms late, as on a loaded machine: a tighter deadline missed the third call there.
    expect(calls).toBe(3);
  });
});
