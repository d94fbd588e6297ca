import { runService } from '@parley/service-kit';
import { routerService } from './router.service.js';

await runService(routerService);
