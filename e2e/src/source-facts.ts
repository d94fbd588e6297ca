// What the services actually read, parsed from their source, so the infra tests compare the manifests against the
// code rather than against a second hand-written list.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const read = (path: string): string => readFileSync(ROOT + path, 'utf8');

/** Every service: a folder of services/ with an entry point. */
export const SERVICE_DIRS: string[] = readdirSync(ROOT + 'services')
  .filter((d) => existsSync(`${ROOT}services/${d}/src/main.ts`))
  .sort();

export interface ConfigVar {
  name: string;
  optional: boolean;
  /** The initializer as written (`''`, `30`, `'info'`, `undefined`). */
  initializer: string;
  /** Without a value in the environment the service refuses to start. */
  required: boolean;
}

/** The settings a config class declares (upper-case properties with their decorators), in source order. */
export function configVarsOf(source: string, className: string): ConfigVar[] {
  const start = source.search(new RegExp(`export class ${className}\\b`));
  if (start < 0) throw new Error(`class ${className} not found`);
  const body = source.slice(start, source.indexOf('\n}', start));
  const vars: ConfigVar[] = [];
  let decorators = '';
  for (const line of body.split('\n').slice(1)) {
    const trimmed = line.trim();
    if (trimmed.startsWith('@')) decorators += trimmed;
    const m = /^([A-Z][A-Z0-9_]*)(\?)?(?::[^=]+)?\s*=\s*(.+);$/.exec(trimmed);
    if (m) {
      const optional = m[2] === '?' || decorators.includes('@IsOptional');
      const initializer = m[3]!.trim();
      // An empty default that a validator refuses (MinLength and the like) must come from the environment.
      const required = !optional && initializer === "''";
      vars.push({ name: m[1]!, optional, initializer, required });
      decorators = '';
    }
  }
  return vars;
}

/** ServiceConfig's settings plus the service's own (from services/<s>/src/<s>.config.ts). */
export function serviceConfigVars(service: string): ConfigVar[] {
  const base = configVarsOf(read('libs/service-kit/src/service-config.ts'), 'ServiceConfig');
  const source = read(`services/${service}/src/${service}.config.ts`);
  const m = /export class (\w+) extends ServiceConfig\b/.exec(source);
  if (!m) throw new Error(`services/${service}/src/${service}.config.ts declares no class extending ServiceConfig`);
  return [...base, ...configVarsOf(source, m[1]!)];
}

/** All TypeScript source of a service (not its tests). */
export function serviceSource(service: string): string {
  const dir = `services/${service}/src/`;
  return readdirSync(ROOT + dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => read(dir + f))
    .join('\n');
}

/** The HTTP routes a Nest source declares: `@Controller('prefix')` joined with each `@Get/@Post(...)` below it. */
export function httpRoutes(source: string): string[] {
  const routes: string[] = [];
  let prefix = '';
  for (const m of source.matchAll(/@(Controller|Get|Post|Put|Delete|Patch)\(\s*(?:'([^']*)')?/g)) {
    if (m[1] === 'Controller') prefix = m[2] ?? '';
    else routes.push('/' + [prefix, m[2] ?? ''].filter(Boolean).join('/'));
  }
  return routes;
}

/** Every `parley_*` metric the code registers (prom-client `name: '...'`, `labelNames: [...]`), with its labels. */
export function registeredMetrics(): Map<string, string[]> {
  const metrics = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(ROOT + dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist') continue;
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        for (const m of read(path).matchAll(/name:\s*'(parley_[a-z0-9_]+)'([^}]*?labelNames:\s*\[([^\]]*)\])?/g)) {
          metrics.set(
            m[1]!,
            [...(m[3] ?? '').matchAll(/'([a-z_]+)'/g)].map((x) => x[1]!),
          );
        }
      }
    }
  };
  walk('libs');
  walk('services');
  return metrics;
}
