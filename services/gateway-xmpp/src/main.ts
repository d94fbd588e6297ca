import { runService } from '@parley/service-kit';
import { gatewayXmppService } from './gateway-xmpp.service.js';

await runService(gatewayXmppService);
