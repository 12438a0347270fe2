/**
 * Turns mounted Express routers into Hydra route strings (`[get]/v1/hello/test`):
 * the method in lower case, then the mount path joined with the route path.
 */
import type { Router } from 'express';

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
}

function join(base: string, path: string): string {
  const joined = `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  return joined.length > 1 ? joined.replace(/\/+$/, '') || '/' : joined;
}

/**
 * The Hydra route strings of mounted routers: `{'/v1/items': router}` with
 * `router.get('/:id')` gives `[get]/v1/items/:id`. createService publishes these.
 */
export function routeStrings(routers: Record<string, Router>): string[] {
  const out: string[] = [];
  for (const [base, router] of Object.entries(routers)) {
    for (const layer of (router as unknown as { stack: Layer[] }).stack) {
      if (!layer.route) continue; // router-level middleware has no route
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const method of Object.keys(layer.route.methods)) {
        if (method === '_all') continue;
        for (const p of paths) out.push(`[${method.toLowerCase()}]${join(base, p)}`);
      }
    }
  }
  return [...new Set(out)];
}
