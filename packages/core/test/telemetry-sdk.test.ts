/** startTelemetry: the SDK is loaded only when OpenTelemetry's environment asks for OTLP export. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTelemetry, otlpRequested } from '../src/index.js';

test('without OTEL_EXPORTER_OTLP_ENDPOINT the SDK module is never loaded', () => {
  const saved = { all: process.env.OTEL_EXPORTER_OTLP_ENDPOINT, traces: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT };
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  try {
    let loads = 0;
    const telemetry = startTelemetry('some-service', () => {
      loads++;
      throw new Error('the SDK must not be loaded');
    });
    assert.equal(telemetry, undefined);
    assert.equal(loads, 0);
  } finally {
    if (saved.all !== undefined) process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved.all;
    if (saved.traces !== undefined) process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = saved.traces;
  }
});

test('either endpoint variable asks for export', () => {
  assert.equal(otlpRequested({}), false);
  assert.equal(otlpRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }), true);
  assert.equal(otlpRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }), true);
  assert.equal(otlpRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }), false);
});
