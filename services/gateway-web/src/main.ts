import { runService } from '@parley/service-kit';
import { gatewayWebService } from './gateway-web.service.js';

await runService(gatewayWebService);
