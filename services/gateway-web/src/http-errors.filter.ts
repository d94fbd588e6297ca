import { ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { type ErrorCode, toParleyError } from '@parley/errors';

const STATUS: Record<ErrorCode, number> = {
  'invalid-payload': 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'rate-limited': 429,
  unavailable: 503,
  internal: 500,
};

interface Res {
  status(code: number): Res;
  json(body: unknown): void;
}

/** The contract's structured errors over HTTP: `{"error": {code, message, details}}` with a fitting status. */
@Catch()
export class HttpErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Res>();
    if (exception instanceof HttpException) {
      res.status(exception.getStatus()).json({ error: { code: exception.getStatus() === 404 ? 'not-found' : 'invalid-payload', message: exception.message } });
      return;
    }
    const e = toParleyError(exception);
    if (e.code === 'internal') this.logger.error({ msg: 'request failed', err: String((exception as Error)?.stack ?? exception) });
    const status = e.details?.reason === 'unauthorized' ? 401 : STATUS[e.code];
    res.status(status).json({ error: e.toBody() });
  }
}
