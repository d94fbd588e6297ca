// The NATS side of a deployment: the Helm values (infra/k8s/nats-values.yaml) and the server configurations
// (infra/nats), against the Parley Deployments and the version Parley needs.
import { MIN_PRODUCTION_NATS_SERVER, compareVersions } from '@parley/service-kit';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SERVICE_DIRS, read } from './source-facts.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Helm values are free-form

const values = parse(read('infra/k8s/nats-values.yaml')) as Obj;
const natsUsersTemplate = parseAllDocuments(read('infra/k8s/secrets/nats-users.template.yaml'))[0]!.toJS() as Obj;
const deployedUsers = SERVICE_DIRS.map((s) => {
  const docs = parseAllDocuments(read(`infra/k8s/${s}.yaml`)).map((d) => d.toJS() as Obj);
  const env = docs.find((d) => d.kind === 'Deployment')!.spec.template.spec.containers[0].env as Obj[];
  return env.find((e) => e.name === 'NATS_USER')!.value as string;
});
const prod = read('infra/nats/nats-server.prod.conf');
const local = read('infra/nats/nats-server.local.conf');
/** The body of a top-level `name { ... }` block of a nats-server configuration (no nested braces in Parley's). */
const block = (conf: string, name: string) => new RegExp(`^${name}\\s*\\{([\\s\\S]*?)^\\}`, 'm').exec(conf)?.[1] ?? '';
const confUsers = (conf: string) =>
  [...block(conf, 'authorization').matchAll(/\{\s*user:\s*([a-z-]+),\s*password:\s*\$([A-Z_]+)(?:,\s*permissions:\s*\$[A-Z_]+)?\s*\}/g)].map((m) => ({ user: m[1]!, env: m[2]! }));

describe('NATS Helm values', () => {
  it('run three clustered servers with JetStream on persistent volumes, syncing every write', () => {
    expect(values.config.cluster).toMatchObject({ enabled: true, replicas: 3 });
    expect(values.config.jetstream).toMatchObject({ enabled: true, fileStore: { enabled: true, pvc: { enabled: true } } });
    expect(values.config.jetstream.merge.sync_interval).toBe('always');
  });

  it('use a nats-server release Parley supports in production', () => {
    const tag = values.container.image.tag as string;
    expect(compareVersions(tag, MIN_PRODUCTION_NATS_SERVER)).toBeGreaterThanOrEqual(0);
    expect(compareVersions('2.9.10-alpine', MIN_PRODUCTION_NATS_SERVER)).toBeLessThan(0);
  });

  it('have a user for every deployed service, whose password comes from the key that service reads', () => {
    const users = values.config.merge.authorization.users as Obj[];
    expect(users.map((u) => u.user)).toEqual(expect.arrayContaining(deployedUsers));
    expect(deployedUsers.sort()).toEqual([...SERVICE_DIRS].sort());
    for (const u of users) {
      const variable = /^<< \$([A-Z_]+) >>$/.exec(u.password)?.[1];
      expect(variable, `${u.user}'s password must be an environment reference, never a value`).toBeDefined();
      expect(values.container.env[variable!].valueFrom.secretKeyRef).toEqual({ name: natsUsersTemplate.metadata.name, key: u.user });
      expect(natsUsersTemplate.stringData).toHaveProperty([u.user]);
    }
  });

  it("point Parley at the chart's client service", () => {
    const literals = (parse(read('infra/k8s/kustomization.yaml')) as Obj).configMapGenerator.find((g: Obj) => g.name === 'parley-config').literals as string[];
    const url = new URL(literals.find((l) => l.startsWith('NATS_URL='))!.slice('NATS_URL='.length));
    // Release "nats" in namespace "parley": the chart's client Service is nats.parley.svc, port 4222.
    expect([url.hostname, url.port]).toEqual(['nats.parley.svc', '4222']);
  });
});

describe('nats-server configurations', () => {
  it('production: JetStream syncs every write, in a cluster of three', () => {
    expect(block(prod, 'jetstream')).toMatch(/^\s*sync_interval:\s*always\s*$/m);
    const cluster = block(prod, 'cluster');
    expect(cluster).toMatch(/name:\s*parley/);
    expect(cluster.match(/nats-route:\/\//g)).toHaveLength(3);
  });

  it('production: the same users as the Helm values, passwords from the environment', () => {
    const users = confUsers(prod);
    const helm = (values.config.merge.authorization.users as Obj[]).map((u) => ({ user: u.user, env: /\$([A-Z_]+)/.exec(u.password)![1] }));
    expect(users).toEqual(helm);
    expect(prod).not.toMatch(/password:\s*["']?[a-z0-9]{8,}/i);
  });

  it('local: no sync_interval, and it says why (2.9.10 rejects it)', () => {
    expect(block(local, 'jetstream')).not.toMatch(/sync_interval/);
    expect(local).toMatch(/2\.9\.10[\s\S]*rejects/);
  });
});
