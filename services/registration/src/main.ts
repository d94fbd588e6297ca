import { runService } from '@parley/service-kit';
import { registrationService } from './registration.service.js';

await runService(registrationService);
