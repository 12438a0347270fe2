/** hello-service's routes: GET /v1/hello/test says who answered; POST /v1/hello/post echoes. */
import { Router } from 'express';
import { sendOk } from '@hydra-ts/express';

export function helloRoutes(identity: () => { serviceName: string; instanceId: string }): Record<string, Router> {
  const router = Router();
  router.get('/test', (_req, res) => {
    const { serviceName, instanceId } = identity();
    sendOk(res, { result: { msg: `hello from ${serviceName} - ${instanceId}` } });
  });
  router.post('/post', (req, res) => {
    sendOk(res, { result: req.body ?? {} });
  });
  return { '/v1/hello': router };
}
