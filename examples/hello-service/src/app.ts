/**
 * hello-service's routes: GET /v1/hello/test says who answered (name, instance and
 * version, so a rollout shows in the answers); POST /v1/hello/post echoes.
 */
import { Router } from 'express';
import { sendOk } from '@hydra-ts/express';

export function helloRoutes(identity: () => { serviceName: string; instanceId: string; version: string }): Record<string, Router> {
  const router = Router();
  router.get('/test', (_req, res) => {
    const { serviceName, instanceId, version } = identity();
    sendOk(res, { result: { msg: `hello from ${serviceName} - ${instanceId}`, version } });
  });
  router.post('/post', (req, res) => {
    sendOk(res, { result: req.body ?? {} });
  });
  return { '/v1/hello': router };
}
