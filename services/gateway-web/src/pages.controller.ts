import { Controller, Get, Header, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import { SERVICE_CONFIG } from '@parley/service-kit';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GatewayWebConfig } from './gateway-web.config.js';

const PUBLIC = join(dirname(fileURLToPath(import.meta.url)), '..', 'public');
const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', html: 'text/html; charset=utf-8', svg: 'image/svg+xml' };

interface Res {
  setHeader(name: string, value: string): void;
  send(body: string): void;
}

/** The three pages and the widget script, as plain files: no build step between the repo and the browser. */
@Controller()
export class PagesController {
  constructor(@Inject(SERVICE_CONFIG) private readonly config: GatewayWebConfig) {}

  private file(name: string, res: Res, replace: Record<string, string> = {}) {
    if (!/^[a-z-]+\.(js|css|html|svg)$/.test(name)) throw new NotFoundException();
    let body: string;
    try {
      body = readFileSync(join(PUBLIC, name), 'utf8');
    } catch {
      throw new NotFoundException();
    }
    for (const [k, v] of Object.entries(replace)) body = body.replaceAll(k, v);
    res.setHeader('Content-Type', TYPES[name.split('.').pop()!]!);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.send(body);
  }

  @Get('widget.js')
  widget(@Res() res: Res) {
    this.file('widget.js', res);
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() res: Res) {
    this.file(name, res);
  }

  @Get('demo')
  @Header('Content-Security-Policy', "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'")
  demo(@Res() res: Res) {
    this.file('demo.html', res, { '{{ADDRESS}}': this.config.WEB_DEMO_ADDRESS });
  }

  @Get('desk')
  @Header('Content-Security-Policy', "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'")
  desk(@Res() res: Res) {
    this.file('desk.html', res);
  }

  @Get('supervisor')
  @Header('Content-Security-Policy', "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'")
  supervisor(@Res() res: Res) {
    this.file('supervisor.html', res);
  }
}
