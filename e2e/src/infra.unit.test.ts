import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SERVICES } from './parley-stack.js';

const dir = fileURLToPath(new URL('../../infra/k8s/', import.meta.url));
const docs = readdirSync(dir).flatMap((f) => parseAllDocuments(readFileSync(dir + f, 'utf8')).map((d) => d.toJS() as Record<string, any>)); // eslint-disable-line @typescript-eslint/no-explicit-any -- Kubernetes manifests are free-form

describe('infra/k8s manifests', () => {
  it('deploy every service with probes on its health endpoints and the service\'s own entry point', () => {
    const deployments = docs.filter((d) => d.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(SERVICES.map((s) => `parley-${s}`).sort());
    for (const d of deployments) {
      const c = d.spec.template.spec.containers[0];
      const service = d.metadata.name.replace('parley-', '');
      expect(c.args).toEqual([`services/${service}/dist/main.js`]);
      expect(c.livenessProbe.httpGet.path).toBe('/health/live');
      expect(c.readinessProbe.httpGet.path).toBe('/health/ready');
      // Each service connects as its own NATS user, its nkey seed mounted from its own Secret.
      expect(c.env).toContainEqual({ name: 'NATS_NKEY_SEED_FILE', value: '/var/run/secrets/parley/nats/seed' });
      expect(d.spec.template.spec.volumes).toContainEqual(expect.objectContaining({ name: 'nats-identity', secret: expect.objectContaining({ secretName: `parley-nats-${service}` }) }));
      expect(c.volumeMounts).toContainEqual(expect.objectContaining({ name: 'nats-identity', readOnly: true }));
      expect(d.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(docs.find((x) => x.kind === 'ConfigMap')!.data.SHUTDOWN_TIMEOUT_MS));
    }
  });
});
