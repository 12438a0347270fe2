/**
 * Checks Kubernetes objects offline against the Kubernetes API schemas, through the
 * kubernetes-models package (generated from Kubernetes' OpenAPI document):
 *  - its JSON-schema validators check types, required fields, enums and formats;
 *  - they let unknown fields through (the OpenAPI document leaves additionalProperties
 *    open), so each object is also written as a TypeScript literal typed with the
 *    model's interface and compiled: TypeScript's excess-property check rejects any
 *    field the schema does not have, at any depth ("'replica' does not exist in type
 *    'IDeploymentSpec'"), as `kubectl apply --validate=strict` would on a cluster.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

/** `apps/v1` + `Deployment` → `kubernetes-models/apps/v1/Deployment`. */
export function modelModule(o: Pick<K8sObject, 'apiVersion' | 'kind'>): string {
  return `kubernetes-models/${o.apiVersion}/${o.kind}`;
}

export function describeObject(o: K8sObject): string {
  return `${o.kind}/${o.metadata?.name}`;
}

/** deploy/k8s, from dist/lib. */
export const K8S_DIR = join(__dirname, '..', '..');

/** Runs kubernetes-models' validator for each object; returns one message per fault. */
export async function schemaErrors(objects: K8sObject[]): Promise<string[]> {
  const errors: string[] = [];
  for (const o of objects) {
    let Model: new (data: unknown) => { validate(): void };
    try {
      const mod = await import(modelModule(o));
      Model = mod[o.kind];
      if (typeof Model !== 'function') throw new Error('no model class');
    } catch {
      errors.push(`${describeObject(o)}: no Kubernetes schema for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (err) {
      errors.push(`${describeObject(o)}: ${(err as Error).message}`);
    }
  }
  return errors;
}

/** Compiles the objects as typed literals; returns TypeScript's messages (unknown fields, wrong shapes). */
export function unknownFieldErrors(objects: K8sObject[]): string[] {
  const parent = join(K8S_DIR, '.check');
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, 'objects-'));
  try {
    // Each object's first line, to name the object a message is about.
    const starts: number[] = [];
    let text = '';
    objects.forEach((o, i) => {
      starts.push(text.split('\n').length);
      text += `export const o${i}: import('${modelModule(o)}').I${o.kind} = ${JSON.stringify(o, null, 2)};\n`;
    });
    writeFileSync(join(dir, 'objects.mts'), text);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'Node16', moduleResolution: 'Node16', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] },
      files: ['objects.mts'],
    }));
    const tsc = join(K8S_DIR, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { encoding: 'utf8' });
    if (r.error) throw r.error;
    if (r.status === 0) return [];
    const messages = r.stdout.split('\n').filter((l) => l.includes('error TS'));
    if (messages.length === 0) throw new Error(`tsc failed without a message: ${r.stdout}${r.stderr}`);
    return messages.map((m) => {
      const line = Number(/objects\.mts\((\d+),/.exec(m)?.[1] ?? 0);
      const index = starts.findLastIndex((start) => start <= line);
      const what = index >= 0 ? describeObject(objects[index]) : 'objects';
      return `${what}: ${m.replace(/^.*error (TS\d+): /, '$1 ')}`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `kubectl kustomize <dir>`, parsed: the objects a `kubectl apply -k` would send. */
export function render(dir: string): K8sObject[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => {
    if (d.errors.length > 0) throw new Error(`kubectl kustomize ${dir} printed bad YAML: ${d.errors[0].message}`);
    return d.toJS() as K8sObject;
  }).filter((o) => o !== null);
}
