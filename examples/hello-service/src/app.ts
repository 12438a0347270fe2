/**
 * hello-service's routes: GET /v1/hello/test says who answered (name, instance and
 * version, so a rollout shows in the answers); POST /v1/hello/post echoes.
 */
import { Router } from 'express';
import { hydraOf, sendOk } from '@hydra-ts/express';

export function helloRoutes(): Record<string, Router> {
  const router = Router();
  router.get('/test', (req, res) => {
    const hydra = hydraOf(req);
    sendOk(res, { result: { msg: `hello from ${hydra.serviceName} - ${hydra.instanceId}`, version: hydra.config.hydra.serviceVersion } });
  });
  router.post('/post', (req, res) => {
    sendOk(res, { result: req.body ?? {} });
  });
  return { '/v1/hello': router };
}
