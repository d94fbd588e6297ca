import { runService } from '@parley/service-kit';
import { presenceProxyService } from './presence-proxy.service.js';

await runService(presenceProxyService);
