/**
 * The kustomize base and production overlay, rendered by `kubectl kustomize` and checked
 * offline: every object against the Kubernetes schemas (unknown fields fail), then what
 * the deployment promises (replicas, spreading, probes, drain, disruption budget, the
 * config Job, the Secret reference, limits, non-root, network policies). No cluster runs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { K8S_DIR, render, schemaErrors, unknownFieldErrors, type K8sObject } from '../lib/validate';

const base = render(join(K8S_DIR, 'base'));
const production = render(join(K8S_DIR, 'overlays', 'production'));

type Obj = K8sObject & Record<string, any>;
const find = (objects: K8sObject[], kind: string, name: string): Obj => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is rendered`);
  return o as Obj;
};
const workloads = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job') as Obj[];
const SERVICES = ['hello-service', 'hpp-service'];

describe('the validator', () => {
  const deployment = (spec: Record<string, unknown>): K8sObject => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'typo' },
    spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } }, ...spec },
  });

  it('rejects a misspelt field, at the top or deep inside a pod template, naming it and the object', () => {
    const router = JSON.parse(JSON.stringify(find(production, 'Deployment', 'hydra-router')));
    const container = router.spec.template.spec.containers[0];
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    const errors = unknownFieldErrors([deployment({ replicas: 1 }), deployment({ replica: 3 }), router]);
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.match(errors[0], /^Deployment\/typo: TS2353 .*'"replica"' does not exist in type 'IDeploymentSpec'/);
    assert.match(errors[1], /^Deployment\/hydra-router: TS2353 .*'"readinesProbe"' does not exist in type 'IContainer'/);
  });

  it('rejects a wrong type, a missing required field and an unknown kind', async () => {
    const errors = await schemaErrors([
      deployment({ replicas: 'three' }),
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'no-port' }, spec: { ports: [{ name: 'http' }] } },
      { apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } },
    ]);
    assert.equal(errors.length, 3, errors.join('\n'));
    assert.match(errors[0], /^Deployment\/typo: .*replicas must be integer/);
    assert.match(errors[1], /^Service\/no-port: .*must have required property port/);
    assert.match(errors[2], /^Deploymnet\/x: no Kubernetes schema for apps\/v1 Deploymnet/);
  });
});

for (const [name, objects] of [['base', base], ['production', production]] as const) {
  describe(`${name}: every object`, () => {
    it('renders the expected kinds', () => {
      const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
      assert.deepEqual(kinds.map((k) => k.replace(/-[a-z0-9]{10}$/, '')), [
        'ConfigMap/hydra-service-configs',
        'Deployment/hello-service', 'Deployment/hpp-service', 'Deployment/hydra-router',
        'Ingress/hydra-router', 'Job/hydra-config', 'Namespace/hydra',
        'NetworkPolicy/default-deny-ingress', 'NetworkPolicy/router-http', 'NetworkPolicy/services-from-routers-and-services',
        'PodDisruptionBudget/hydra-router', 'Service/hydra-router',
      ]);
      for (const o of objects) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'hydra', `${o.kind}/${o.metadata.name}`);
    });

    it('passes the Kubernetes schemas, with no unknown field', async () => {
      assert.deepEqual(await schemaErrors(objects), []);
      assert.deepEqual(unknownFieldErrors(objects), []);
    });

    it('commits no Secret: every container reads the Redis URL from the Secret hydra-redis, mounted as a file', () => {
      assert.ok(!objects.some((o) => o.kind === 'Secret'));
      for (const w of workloads(objects)) {
        const pod = w.spec.template.spec;
        const volume = pod.volumes.find((v: any) => v.secret);
        assert.deepEqual(volume.secret, { secretName: 'hydra-redis', defaultMode: 0o440 }, w.metadata.name);
        assert.equal(pod.securityContext.fsGroup, 1000, 'the file\'s group is the containers\' group');
        for (const c of pod.containers) {
          assert.deepEqual(c.env.find((e: any) => e.name.startsWith('HYDRA_REDIS_URL')), { name: 'HYDRA_REDIS_URL_FILE', value: '/run/secrets/hydra-redis/url' }, `${w.metadata.name} ${c.name}`);
          assert.deepEqual(c.volumeMounts.find((m: any) => m.name === volume.name), { name: volume.name, mountPath: '/run/secrets/hydra-redis', readOnly: true });
        }
      }
    });

    it('runs every container as non-root, read-only, without capabilities, within requests and limits', () => {
      for (const w of workloads(objects)) {
        const pod = w.spec.template.spec;
        assert.equal(pod.securityContext.runAsNonRoot, true, w.metadata.name);
        assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
        assert.equal(pod.automountServiceAccountToken, false);
        for (const c of pod.containers) {
          assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
          for (const k of ['cpu', 'memory']) {
            assert.ok(c.resources.requests[k] && c.resources.limits[k], `${w.metadata.name} ${k}`);
          }
        }
      }
    });
  });
}

describe('production', () => {
  const router = find(production, 'Deployment', 'hydra-router');
  const pod = router.spec.template.spec;
  const container = pod.containers[0];

  it('runs 3 routers spread over nodes, from the registry\'s image', () => {
    assert.equal(router.spec.replicas, 3);
    assert.deepEqual(pod.topologySpreadConstraints[0], {
      maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'hydra-router' } },
    });
    assert.equal(container.image, 'registry.example.com/hydra/hydra-router:0.1.0');
    assert.deepEqual(router.spec.strategy.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
  });

  it('probes the router\'s health path, drains before SIGTERM, and keeps 2 of 3 through disruptions', () => {
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      assert.deepEqual(probe.httpGet, { path: '/v1/router/health', port: 'http' });
    }
    assert.deepEqual(container.ports, [{ name: 'http', containerPort: 8000 }]);
    assert.match(container.env.find((e: any) => e.name === 'HYDRA_SERVICE').value, /"servicePort":8000/);
    assert.deepEqual(container.lifecycle.preStop, { sleep: { seconds: 5 } });
    assert.ok(pod.terminationGracePeriodSeconds > 5);
    const pdb = find(production, 'PodDisruptionBudget', 'hydra-router');
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(pdb.spec.selector, router.spec.selector);
  });

  it('puts a Service and an Ingress in front of the routers', () => {
    const service = find(production, 'Service', 'hydra-router');
    assert.deepEqual(service.spec.selector, router.spec.selector.matchLabels);
    assert.deepEqual(service.spec.ports, [{ name: 'http', port: 80, targetPort: 'http' }]);
    const ingress = find(production, 'Ingress', 'hydra-router');
    assert.deepEqual(ingress.spec.defaultBackend.service, { name: 'hydra-router', port: { name: 'http' } });
  });

  it('runs 5 of each service, configured from Redis by name and version', () => {
    for (const name of SERVICES) {
      const d = find(production, 'Deployment', name);
      assert.equal(d.spec.replicas, 5);
      const c = d.spec.template.spec.containers[0];
      assert.match(c.image, new RegExp(`^registry\\.example\\.com/hydra/${name}:`));
      const hydraService = c.env.find((e: any) => e.name === 'HYDRA_SERVICE').value as string;
      const config = JSON.parse(readFileSync(join(K8S_DIR, 'base', 'config', `${name}.json`), 'utf8'));
      assert.equal(hydraService, `${name}:${config.hydra.serviceVersion}`);
      // the port the stored config listens on is the one probed, on the service's /health
      assert.equal(c.ports[0].containerPort, config.hydra.servicePort);
      for (const probe of [c.readinessProbe, c.livenessProbe]) assert.deepEqual(probe.httpGet, { path: '/health', port: 'http' });
    }
  });

  it('pushes each service\'s config with hydra-cli cfg push from the generated ConfigMap', () => {
    const job = find(production, 'Job', 'hydra-config');
    const pod = job.spec.template.spec;
    const configMap = production.find((o) => o.kind === 'ConfigMap') as Obj;
    assert.equal(pod.volumes.find((v: any) => v.configMap).configMap.name, configMap.metadata.name);
    assert.deepEqual(pod.containers.map((c: any) => c.name), SERVICES);
    for (const c of pod.containers) {
      const config = JSON.parse(configMap.data[`${c.name}.json`]);
      assert.equal(config.hydra.serviceName, c.name);
      assert.equal(c.image, 'registry.example.com/hydra/hydra-cli:0.1.0');
      assert.deepEqual(c.args, ['cfg', 'push', `${c.name}:${config.hydra.serviceVersion}`, `/config/${c.name}.json`]);
      assert.deepEqual(c.volumeMounts[0], { name: 'configs', mountPath: '/config', readOnly: true });
    }
  });

  it('lets only routers and services reach the services, and nothing else in', () => {
    const policies = production.filter((o) => o.kind === 'NetworkPolicy') as Obj[];
    const deny = policies.find((p) => p.metadata.name === 'default-deny-ingress')!;
    assert.deepEqual(deny.spec, { podSelector: {}, policyTypes: ['Ingress'] });
    const services = policies.find((p) => p.metadata.name === 'services-from-routers-and-services')!;
    assert.deepEqual(services.spec.podSelector, { matchLabels: { 'hydra.role': 'service' } });
    assert.deepEqual(services.spec.ingress, [{ from: [{ podSelector: { matchLabels: { 'hydra.role': 'router' } } }, { podSelector: { matchLabels: { 'hydra.role': 'service' } } }] }]);
    const routerPolicy = policies.find((p) => p.metadata.name === 'router-http')!;
    assert.deepEqual(routerPolicy.spec.ingress, [{ ports: [{ port: 'http' }] }]);
    // the roles the policies select are the ones the pods carry
    assert.equal(router.spec.template.metadata.labels['hydra.role'], 'router');
    for (const name of SERVICES) assert.equal(find(production, 'Deployment', name).spec.template.metadata.labels['hydra.role'], 'service');
    assert.equal(find(production, 'Job', 'hydra-config').spec.template.metadata.labels['hydra.role'], undefined);
  });
});
