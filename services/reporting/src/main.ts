import { runService } from '@parley/service-kit';
import { reportingService } from './reporting.service.js';

await runService(reportingService);
