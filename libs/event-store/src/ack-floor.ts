/**
 * What an ack-all consumer may acknowledge. Its messages are handled in lanes that finish out of order, while one
 * acknowledgement covers every message at or below the acknowledged one. So the only message that may be
 * acknowledged is the highest handled one below the lowest still in hand. An acknowledgement that passed a
 * message in hand would lose it at a crash, because the server would not deliver it again.
 *
 * Why ack-all: nats-server spends about as much on an explicit acknowledgement as on storing the message, and
 * every durable message needed one. One acknowledgement per turn of the event loop costs a quarter of that
 * (docs/benchmarks.md, "What a message costs nats-server").
 */
export class AckFloor<M> {
  /** Stream sequences taken and not yet handled: in a lane, retrying, or never to be handled here (stopping). */
  private readonly inHand = new Set<number>();
  /** Handled and not yet covered by an acknowledgement, by stream sequence ascending. */
  private readonly handled: { seq: number; message: M }[] = [];
  private readonly handledSeqs = new Set<number>();

  /**
   * A message delivered. `false`: it is already here, in hand or handled and not yet acknowledged (the server
   * delivered it again after its ack wait), so it must not be handled twice.
   */
  take(seq: number): boolean {
    if (this.inHand.has(seq) || this.handledSeqs.has(seq)) return false;
    this.inHand.add(seq);
    return true;
  }

  /** A message handled (or skipped on purpose): it may be covered by the next acknowledgement. */
  handle(seq: number, message: M): void {
    if (!this.inHand.delete(seq)) return;
    this.handledSeqs.add(seq);
    // Lanes finish close to delivery order: the insertion point is almost always the end.
    let i = this.handled.length;
    while (i > 0 && this.handled[i - 1]!.seq > seq) i--;
    this.handled.splice(i, 0, { seq, message });
  }

  /**
   * The message to acknowledge now: the highest handled one below every message in hand. The messages it covers
   * are forgotten. `undefined` when nothing new can be covered.
   */
  next(): M | undefined {
    let lowestInHand = Infinity;
    for (const seq of this.inHand) if (seq < lowestInHand) lowestInHand = seq;
    let covered = 0;
    while (covered < this.handled.length && this.handled[covered]!.seq < lowestInHand) covered++;
    if (covered === 0) return undefined;
    const last = this.handled[covered - 1]!.message;
    for (const { seq } of this.handled.splice(0, covered)) this.handledSeqs.delete(seq);
    return last;
  }

  /** Messages the server counts as pending because of this consumer: in hand, and handled but not yet covered. */
  get unacknowledged(): number {
    return this.inHand.size + this.handled.length;
  }
}
