'use strict';

const hydraExpress = require('hydra-express');
const hydra = hydraExpress.getHydra();
const express = hydraExpress.getExpress();
const ServerResponse = hydra.getServerResponseHelper();
const serverResponse = new ServerResponse();

const api = express.Router();

api.get('/', (req, res) => {
  serverResponse.sendOk(res, { result: { greeting: `hello from ${hydra.getServiceName()}`, instanceID: hydra.getInstanceID() } });
});

api.post('/echo', (req, res) => {
  hydraExpress.sendResponse(ServerResponse.HTTP_OK, res, { result: { body: req.body } });
});

api.get('/body', (req, res) => {
  hydraExpress.sendResponse(ServerResponse.HTTP_OK, res, { result: { defined: req.body !== undefined, body: req.body } });
});

api.get('/config', (req, res) => {
  hydraExpress.sendResponse(ServerResponse.HTTP_OK, res, { result: { greeting: hydraExpress.getRuntimeConfig().greeting } });
});

/** Calls another service over HTTP through Hydra. */
api.get('/call/:service', (req, res) => {
  hydra.makeAPIRequest(hydra.createUMFMessage({ to: `${req.params.service}:[get]${req.query.path}`, from: `${hydra.getServiceName()}:/`, body: {} }), { timeout: 5 })
    .then((answer) => hydraExpress.sendResponse(ServerResponse.HTTP_OK, res, { result: { answer } }));
});

/** Sends the posted UMF message. */
api.post('/send', (req, res) => {
  hydra.sendMessage(hydra.createUMFMessage(req.body))
    .then((answer) => hydraExpress.sendResponse(ServerResponse.HTTP_OK, res, { result: { sent: answer === undefined, answer: answer || null } }));
});

api.post('/queue', (req, res) => {
  hydra.queueMessage(hydra.createUMFMessage(req.body))
    .then(() => hydraExpress.sendResponse(ServerResponse.HTTP_OK, res, { result: { queued: true } }));
});

api.get('/queue/next', (req, res) => {
  hydra.getQueuedMessage(hydra.getServiceName())
    .then((message) => (message ? hydra.markQueueMessage(message, true).then(() => message) : null))
    .then((message) => hydraExpress.sendResponse(ServerResponse.HTTP_OK, res, { result: { message } }));
});

api.get('/presence/:service', (req, res) => {
  hydra.getServicePresence(req.params.service)
    .then((instances) => hydraExpress.sendResponse(ServerResponse.HTTP_OK, res, { result: { instances: instances.map((i) => i.instanceID) } }));
});

module.exports = api;
