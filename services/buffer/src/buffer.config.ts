import { ServiceConfig } from '@parley/service-kit';

export class BufferConfig extends ServiceConfig {}
