import { Injectable } from '@nestjs/common';

/** A dependency a service is not ready without (besides NATS and JetStream): resolves, or throws saying why. */
export type ReadinessCheck = () => Promise<void> | void;

@Injectable()
export class ReadinessChecks {
  private readonly checks = new Map<string, ReadinessCheck>();

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  entries(): [string, ReadinessCheck][] {
    return [...this.checks.entries()];
  }
}
