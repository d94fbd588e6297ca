/** Progress on stderr for long reads: events read, events per second, and an ETA when the total is known. */
export class ProgressReporter {
  private count = 0;
  private readonly started = Date.now();
  private lastPrint = 0;
  private printed = false;

  constructor(
    private readonly label: string,
    private total: number | null,
    private readonly quiet: boolean,
    private readonly everyMs = 1_000,
  ) {}

  setTotal(total: number | null) {
    this.total = total;
  }

  tick(n = 1): void {
    this.count += n;
    if (this.quiet || (this.count & 1023) !== 0) return;
    const now = Date.now();
    if (now - this.lastPrint >= this.everyMs) {
      this.lastPrint = now;
      this.print(now);
    }
  }

  get read(): number {
    return this.count;
  }

  rate(now = Date.now()): number {
    return this.count / Math.max(0.001, (now - this.started) / 1000);
  }

  private print(now: number) {
    const rate = this.rate(now);
    const eta = this.total !== null && rate > 0 ? ` ETA ${Math.max(0, Math.ceil((this.total - this.count) / rate))} s` : '';
    const of = this.total !== null ? ` of ${this.total.toLocaleString('en')}` : '';
    process.stderr.write(`${this.label}: ${this.count.toLocaleString('en')}${of} read, ${Math.round(rate).toLocaleString('en')}/s${eta}\n`);
    this.printed = true;
  }

  done(): void {
    if (this.quiet) return;
    const now = Date.now();
    process.stderr.write(`${this.label}: ${this.count.toLocaleString('en')} read in ${((now - this.started) / 1000).toFixed(1)} s (${Math.round(this.rate(now)).toLocaleString('en')}/s)\n`);
  }
}
