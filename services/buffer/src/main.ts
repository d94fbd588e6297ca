import { runService } from '@parley/service-kit';
import { bufferService } from './buffer.service.js';

await runService(bufferService);
