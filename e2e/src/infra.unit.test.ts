// infra/k8s against the Kubernetes API schemas (offline, kubernetes-models) and against what the services read.
import { existsSync, readdirSync } from 'node:fs';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { CenterConfig, loadValidatedFile } from '@parley/center-config';
import { ServiceConfig, loadConfig } from '@parley/service-kit';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT, SERVICE_DIRS, httpRoutes, read, serviceConfigVars, serviceSource } from './source-facts.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Kubernetes manifests are free-form

const K8S = 'infra/k8s/';
const kustomization = parse(read(`${K8S}kustomization.yaml`)) as Obj;
const load = (path: string): Obj[] =>
  parseAllDocuments(read(path))
    .map((d) => d.toJS() as Obj)
    .filter((d) => d);
const objects = (kustomization.resources as string[]).flatMap((f) => load(K8S + f));
const secretFiles = readdirSync(ROOT + K8S + 'secrets').map((f) => `${K8S}secrets/${f}`);
const secrets = secretFiles.flatMap(load);
const generators = new Map<string, Obj>((kustomization.configMapGenerator as Obj[]).map((g) => [g.name, g]));
/** A generated ConfigMap's data as kustomize builds it: literals, and files keyed by their name. */
const generatedData = (name: string): Record<string, string> => {
  const g = generators.get(name)!;
  const data: Record<string, string> = {};
  for (const l of (g.literals ?? []) as string[]) data[l.slice(0, l.indexOf('='))] = l.slice(l.indexOf('=') + 1);
  for (const f of (g.files ?? []) as string[]) {
    const [key, path] = f.includes('=') ? f.split('=') : [f.split('/').pop()!, f];
    data[key!] = read(K8S + path);
  }
  return data;
};
const shared = generatedData('parley-config');

const of = (kind: string) => objects.filter((o) => o.kind === kind);
const deployments = of('Deployment');
const deploymentOf = (service: string) => deployments.find((d) => d.metadata.name === `parley-${service}`)!;
const containerOf = (service: string) => deploymentOf(service).spec.template.spec.containers[0];
const matches = (selector: Obj | undefined, labels: Obj) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const podLabels = (service: string) => deploymentOf(service).spec.template.metadata.labels as Obj;
/** The environment a container gets: the shared ConfigMap, then its own env (secrets as placeholders of 32+ chars). */
const envOf = (service: string): Record<string, string> => {
  const env: Record<string, string> = {};
  const c = containerOf(service);
  for (const from of c.envFrom ?? []) Object.assign(env, generatedData(from.configMapRef.name));
  for (const e of c.env ?? []) env[e.name] = e.value ?? (e.valueFrom?.secretKeyRef ? 'placeholder-secret-of-at-least-32-chars' : `from:${e.valueFrom?.fieldRef?.fieldPath}`);
  return env;
};

const models: Record<string, new (data: Obj) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.k8s.io/v1/Ingress': Ingress,
};

describe('infra/k8s: the kustomization', () => {
  it('lists every manifest, and every file it names exists', () => {
    const manifests = readdirSync(ROOT + K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'nats-values.yaml');
    expect([...(kustomization.resources as string[])].sort()).toEqual(manifests.sort());
    for (const g of generators.values()) for (const f of (g.files ?? []) as string[]) expect(existsSync(ROOT + K8S + f.split('=').pop()), f).toBe(true);
    expect(kustomization.namespace).toBe('parley');
  });

  it('names generated ConfigMaps by content, so a changed contact-center file or setting rolls the pods', () => {
    expect(kustomization.generatorOptions?.disableNameSuffixHash ?? false).toBe(false);
    const referenced = new Set(
      deployments
        .flatMap((d) => [
          ...d.spec.template.spec.containers.flatMap((c: Obj) => (c.envFrom ?? []).map((e: Obj) => e.configMapRef?.name)),
          ...(d.spec.template.spec.volumes ?? []).map((v: Obj) => v.configMap?.name),
        ])
        .filter(Boolean),
    );
    // Every ConfigMap a pod reads is generated (kustomize rewrites the reference to the hashed name); none is static.
    expect([...referenced].sort()).toEqual([...generators.keys()].sort());
    expect(of('ConfigMap')).toEqual([]);
  });

  it('keeps secrets out: the templates hold placeholders only and are not applied', () => {
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets) {
      expect(s.kind).toBe('Secret');
      for (const [key, value] of Object.entries(s.stringData ?? {})) {
        if (key.endsWith('.yaml')) continue; // an empty users file
        expect(String(value), `${s.metadata.name}.${key}`).toMatch(/^REPLACE-ME/);
      }
      expect(s.data, 'base64 data could hide a real secret').toBeUndefined();
    }
    expect(of('Secret')).toEqual([]);
  });
});

describe('infra/k8s: Kubernetes API schemas', () => {
  it("validates every object, applied or template, against its kind's schema", () => {
    for (const o of [...objects, ...secrets]) {
      const model = models[`${o.apiVersion}/${o.kind}`];
      expect(model, `no schema checked for ${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => new model!(o).validate(), `${o.kind} ${o.metadata?.name}`).not.toThrow();
    }
  });

  it('rejects a manifest with a wrong type (the validator is live)', () => {
    const broken = structuredClone(deploymentOf('router'));
    broken.spec.replicas = 'two';
    expect(() => new Deployment(broken).validate()).toThrow(/replicas/);
  });

  it('puts everything in the parley namespace, labelled as part of Parley', () => {
    for (const o of [...objects, ...secrets]) {
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(kustomization.namespace);
      expect(o.metadata.labels?.['app.kubernetes.io/part-of'], `${o.kind} ${o.metadata.name}`).toBe('parley');
    }
  });
});

describe('infra/k8s: one Deployment per service, matching the code', () => {
  it('deploys exactly the services in services/, each running its own entry point', () => {
    expect(SERVICE_DIRS).toHaveLength(7);
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(SERVICE_DIRS.map((s) => `parley-${s}`).sort());
    for (const s of SERVICE_DIRS) {
      const main = JSON.parse(read(`services/${s}/package.json`)).main as string;
      expect(containerOf(s).args).toEqual([`services/${s}/${main}`]);
      expect(containerOf(s).image).toBe((kustomization.images as Obj[])[0]!.name);
    }
  });

  it('builds every deployed service into the image', () => {
    const built = /run-many -t build -p ([a-z -]+)/.exec(read('infra/Dockerfile'))![1]!.trim().split(/\s+/);
    expect(built.sort()).toEqual([...SERVICE_DIRS].sort());
  });

  it('probes the health endpoints the code serves, on the port HTTP_PORT opens', () => {
    const routes = httpRoutes(read('libs/service-kit/src/health.controller.ts'));
    expect(routes).toEqual(expect.arrayContaining(['/health/live', '/health/ready', '/metrics']));
    for (const s of SERVICE_DIRS) {
      const c = containerOf(s);
      const port = c.ports.find((p: Obj) => p.name === 'http');
      expect(port.containerPort).toBe(Number(envOf(s).HTTP_PORT));
      expect(envOf(s).HTTP_HOST).toBe('0.0.0.0');
      expect(c.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(c.startupProbe.httpGet.path).toBe('/health/live');
      // /health/ready waits up to 1 s for NATS, 1.5 s for JetStream and 1.5 s per check of the service's own.
      expect(c.readinessProbe.timeoutSeconds).toBeGreaterThanOrEqual(4);
      const annotations = deploymentOf(s).spec.template.metadata.annotations;
      expect([annotations['prometheus.io/port'], annotations['prometheus.io/path']]).toEqual([String(port.containerPort), '/metrics']);
    }
  });

  it('sets only variables the service reads, every one it cannot start without, and valid values', () => {
    for (const s of SERVICE_DIRS) {
      const declared = serviceConfigVars(s);
      const names = new Set(declared.map((v) => v.name));
      const env = envOf(s);
      for (const name of Object.keys(env)) expect(names.has(name), `${s} sets ${name}, which it does not read`).toBe(true);
      for (const v of declared.filter((d) => d.required)) expect(env[v.name], `${s} needs ${v.name}`).toBeDefined();
      // The shared settings pass the services' own validation (PARLEY_STREAM_*, NATS_URL, HTTP_*, ...).
      const sharedOnly = Object.fromEntries(Object.entries(env).filter(([k]) => k in new ServiceConfig()));
      expect(() => loadConfig(ServiceConfig, sharedOnly), s).not.toThrow();
    }
    expect(shared.PARLEY_STREAM_REPLICAS).toBe('3');
    // The parser sees the settings a service cannot start without (an empty default its validator refuses).
    expect(
      serviceConfigVars('gateway-web')
        .filter((v) => v.required)
        .map((v) => v.name),
    ).toEqual(['WEB_JWT_SECRET']);
    expect(
      serviceConfigVars('gateway-xmpp')
        .filter((v) => v.required)
        .map((v) => v.name),
    ).toEqual(['XMPP_COMPONENT_SECRET']);
  });

  it('gives each service its own NATS user and password, from the NATS users Secret', () => {
    const users = secrets.find((x) => x.metadata.name === 'parley-nats-users')!;
    for (const s of SERVICE_DIRS) {
      const env = containerOf(s).env as Obj[];
      expect(env.find((e) => e.name === 'NATS_USER')?.value).toBe(s);
      expect(env.find((e) => e.name === 'NATS_PASSWORD')?.valueFrom.secretKeyRef).toEqual({ name: 'parley-nats-users', key: s });
      expect(users.stringData).toHaveProperty([s]);
    }
  });

  it('takes every secret from a Secret whose template has that key', () => {
    const refs = deployments.flatMap((d) => [
      ...d.spec.template.spec.containers.flatMap((c: Obj) => (c.env ?? []).map((e: Obj) => e.valueFrom?.secretKeyRef).filter(Boolean)),
      ...(d.spec.template.spec.volumes ?? []).filter((v: Obj) => v.secret).flatMap((v: Obj) => v.secret.items.map((i: Obj) => ({ name: v.secret.secretName, key: i.key }))),
    ]);
    expect(refs.length).toBeGreaterThan(SERVICE_DIRS.length);
    for (const ref of refs) {
      const secret = secrets.find((x) => x.metadata.name === ref.name);
      expect(secret, `Secret ${ref.name}`).toBeDefined();
      expect(Object.keys(secret!.stringData), `${ref.name}.${ref.key}`).toContain(ref.key);
    }
    // Settings whose names say secret never come as plain values.
    for (const s of SERVICE_DIRS) for (const e of containerOf(s).env as Obj[]) if (/SECRET|PASSWORD/.test(e.name)) expect(e.value, `${s} ${e.name}`).toBeUndefined();
  });

  it('mounts every file a *_FILE setting names, from the ConfigMap or Secret that holds it', () => {
    let files = 0;
    for (const s of SERVICE_DIRS) {
      const c = containerOf(s);
      const volumes = deploymentOf(s).spec.template.spec.volumes as Obj[];
      for (const e of (c.env as Obj[]).filter((x) => x.name.endsWith('_FILE'))) {
        files++;
        const mount = (c.volumeMounts as Obj[]).find((m) => e.value.startsWith(m.mountPath + '/'));
        expect(mount, `${s} ${e.name}=${e.value}`).toBeDefined();
        expect(mount!.readOnly).toBe(true);
        const file = e.value.slice(mount!.mountPath.length + 1);
        const volume = volumes.find((v) => v.name === mount!.name)!;
        if (volume.configMap) expect(Object.keys(generatedData(volume.configMap.name))).toContain(file);
        else expect(volume.secret.items.map((i: Obj) => i.path)).toContain(file);
      }
    }
    expect(files).toBeGreaterThanOrEqual(5);
  });

  it('gives the contact-center file to exactly the services that load it, and the file is valid', () => {
    const loading = SERVICE_DIRS.filter((s) => serviceSource(s).includes('config.PARLEY_CENTER_FILE'));
    expect(loading.sort()).toEqual(['presence-proxy', 'registration', 'router']);
    const given = SERVICE_DIRS.filter((s) => envOf(s).PARLEY_CENTER_FILE);
    expect(given.sort()).toEqual(loading.sort());
    const center = (generators.get('parley-contact-center')!.files as string[])[0]!.split('=')[1]!;
    expect(() => loadValidatedFile(ROOT + K8S + center, CenterConfig)).not.toThrow();
  });

  it('runs every pod non-root, read-only, without capabilities, with seccomp, within resources', () => {
    for (const s of SERVICE_DIRS) {
      const pod = deploymentOf(s).spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(c.securityContext.capabilities.add).toBeUndefined();
        expect(c.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
        expect(c.resources.limits.memory).toBeDefined();
      }
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(shared.SHUTDOWN_TIMEOUT_MS));
    }
  });

  it('has a Service and a PodDisruptionBudget per Deployment that select its pods', () => {
    for (const s of SERVICE_DIRS) {
      const d = deploymentOf(s);
      expect(matches(d.spec.selector.matchLabels, podLabels(s))).toBe(true);
      const svc = of('Service').find((x) => x.metadata.name === `parley-${s}`)!;
      expect(matches(svc.spec.selector, podLabels(s))).toBe(true);
      expect(svc.spec.ports[0].targetPort).toBe('http');
      const pdb = of('PodDisruptionBudget').find((x) => matches(x.spec.selector.matchLabels, podLabels(s)));
      expect(pdb, `PDB for ${s}`).toBeDefined();
      if (s === 'gateway-xmpp') {
        // Active/standby: only the connected replica is ready; a ready-pod budget would block every drain.
        expect(d.spec.strategy.type).toBe('Recreate');
        expect(pdb!.spec.minAvailable).toBe(0);
        expect(d.spec.replicas).toBe(2);
      } else {
        expect(pdb!.spec.minAvailable).toBe(1);
        expect(d.spec.replicas).toBeGreaterThan(pdb!.spec.minAvailable);
        expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
      }
    }
  });
});

describe('infra/k8s: network', () => {
  const policies = of('NetworkPolicy');
  const natsPort = Number(new URL(shared.NATS_URL!.split(',')[0]!).port);
  const selecting = (s: string, type: 'Ingress' | 'Egress') => policies.filter((p) => p.spec.policyTypes.includes(type) && matches(p.spec.podSelector.matchLabels, podLabels(s)));
  const peers = (rules: Obj[]) => rules.flatMap((r) => (r.ports as Obj[]).map((p) => ({ port: p.port, to: JSON.stringify(r.to ?? r.from) })));

  it('isolates every Parley pod both ways by default', () => {
    for (const s of SERVICE_DIRS) {
      const deny = selecting(s, 'Ingress').filter((p) => p.spec.policyTypes.includes('Egress') && !p.spec.ingress && !p.spec.egress);
      expect(deny, s).toHaveLength(1);
    }
  });

  it("lets every service reach only NATS (and DNS to find it); gateway-xmpp also its XMPP server's component port", () => {
    const component = new URL(envOf('gateway-xmpp').XMPP_COMPONENT_SERVICE!.replace(/^xmpp:/, 'http:'));
    for (const s of SERVICE_DIRS) {
      const allowed = peers(selecting(s, 'Egress').flatMap((p) => p.spec.egress ?? []));
      const ports = allowed.map((a) => a.port).sort();
      expect(ports, s).toEqual(s === 'gateway-xmpp' ? [53, 53, Number(component.port), natsPort].sort() : [53, 53, natsPort].sort());
      expect(allowed.find((a) => a.port === natsPort)!.to).toContain('"app.kubernetes.io/name":"nats"');
    }
    // XMPP_COMPONENT_SERVICE names the component Service, on its port.
    const svc = of('Service').find((x) => x.metadata.name === component.hostname)!;
    expect(svc.spec.ports.map((p: Obj) => p.port)).toContain(Number(component.port));
  });

  it('admits only Prometheus to every pod, and the ingress controller to gateway-web', () => {
    for (const s of SERVICE_DIRS) {
      const allowed = peers(selecting(s, 'Ingress').flatMap((p) => p.spec.ingress ?? []));
      const from = allowed.map((a) => a.to);
      expect(allowed.every((a) => a.port === 8080)).toBe(true);
      expect(from.some((f) => f.includes('monitoring'))).toBe(true);
      expect(
        from.filter((f) => !f.includes('monitoring')),
        s,
      ).toEqual(s === 'gateway-web' ? [expect.stringContaining('ingress-nginx')] : []);
    }
  });

  it('lets NATS accept clients only from Parley and its own tools', () => {
    const nats = policies.find((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/name'] === 'nats')!;
    const clients = (nats.spec.ingress as Obj[]).find((r) => r.ports.some((p: Obj) => p.port === natsPort))!;
    expect(clients.from.map((f: Obj) => f.podSelector.matchLabels)).toEqual([
      { 'app.kubernetes.io/part-of': 'parley' },
      { 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/component': 'nats-box' },
    ]);
  });

  it('serves the web gateway through the Ingress on routes the gateway has, and never its health or metrics', () => {
    const [ingress] = of('Ingress');
    const routes = [...httpRoutes(serviceSource('gateway-web')), ...(/url\.pathname !== '(\/[a-z]+)'/.exec(serviceSource('gateway-web'))?.slice(1) ?? [])];
    const paths = (ingress!.spec.rules as Obj[]).flatMap((r) => r.http.paths as Obj[]);
    expect(paths.length).toBeGreaterThan(3);
    for (const p of paths) {
      expect(p.backend.service).toEqual({ name: 'parley-gateway-web', port: { name: 'http' } });
      const served = routes.some((r) => (p.pathType === 'Exact' ? r === p.path : r === p.path || r.startsWith(p.path + '/')));
      expect(served, `${p.path} is not a gateway-web route`).toBe(true);
      expect(p.path).not.toMatch(/^\/(health|metrics)/);
    }
    expect(secrets.map((s) => s.metadata.name)).toContain(ingress!.spec.tls[0].secretName);
  });
});

describe('infra/k8s/nats-values.yaml: authorization', () => {
  /** Each permission block of infra/nats/permissions.conf: its allow lists and allow_responses. */
  const permissionBlocks = (conf: string): Map<string, Obj> => {
    const blocks = new Map<string, Obj>();
    for (const [, name, raw] of conf.matchAll(/^([A-Z_]+) = \{\n([\s\S]*?)^\}/gm)) {
      const body = raw!
        .split('\n')
        .filter((l) => !l.trim().startsWith('#'))
        .join('\n');
      const allow = (kind: string) => [...(new RegExp(`${kind}: \\{ allow: \\[([\\s\\S]*?)\\] \\}`).exec(body)?.[1] ?? '').matchAll(/"([^"]*)"/g)].map((m) => m[1]);
      const responses = /allow_responses: (false|\{ max: (\d+), expires: "([^"]+)" \})/.exec(body);
      blocks.set(name!, {
        publish: { allow: allow('publish') },
        subscribe: { allow: allow('subscribe') },
        ...(responses ? { allow_responses: responses[1] === 'false' ? false : { max: Number(responses[2]), expires: responses[3] } } : {}),
      });
    }
    return blocks;
  };
  const blocks = permissionBlocks(read('infra/nats/permissions.conf'));
  /** users.conf: which block each user gets (by the nkey variable, PARLEY_NKEY_<USER>). */
  const blockOfUser = new Map([...read('infra/nats/users.conf').matchAll(/nkey: \$PARLEY_NKEY_([A-Z_]+), permissions: \$([A-Z_]+)/g)].map((m) => [m[1]!, m[2]!]));
  const users = (parse(read(`${K8S}nats-values.yaml`)) as Obj).config.merge.authorization.users as Obj[];

  it('reads every permission block (the parser is live)', () => {
    expect([...blocks.keys()]).toEqual(expect.arrayContaining(['SVC_REGISTRATION', 'SVC_ROUTER', 'SVC_GATEWAY_WEB', 'SVC_GATEWAY_XMPP', 'ADMIN']));
    expect(blocks.get('SVC_ROUTER')!.publish.allow.length).toBeGreaterThan(20);
    expect(blocks.get('SVC_ROUTER')!.allow_responses).toEqual({ max: 1, expires: '1m' });
    expect(blocks.get('SVC_GATEWAY_XMPP')!.allow_responses).toBe(false);
  });

  it('has exactly the users of infra/nats/users.conf, each with its permission block from permissions.conf', () => {
    expect(users.map((u) => u.user.toUpperCase().replace(/-/g, '_')).sort()).toEqual([...blockOfUser.keys()].sort());
    for (const u of users) {
      const block = blocks.get(blockOfUser.get(u.user.toUpperCase().replace(/-/g, '_'))!);
      expect(block, u.user).toBeDefined();
      expect(u.permissions, `${u.user}: permissions in nats-values.yaml differ from infra/nats/permissions.conf`).toEqual(block);
    }
  });

  it('gives no user but admin a wildcard publish or subscribe grant', () => {
    for (const u of users.filter((x) => x.user !== 'admin')) {
      expect(u.permissions.publish.allow, u.user).not.toContain('>');
      expect(u.permissions.subscribe.allow, u.user).not.toContain('>');
    }
  });
});
