// The image's HEALTHCHECK: GET http://127.0.0.1:$HEALTH_PORT$HEALTH_PATH answers 2xx within 2 s.
const url = `http://127.0.0.1:${process.env.HEALTH_PORT}${process.env.HEALTH_PATH}`;
fetch(url, { signal: AbortSignal.timeout(2000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  (err) => {
    console.error(`health check ${url}: ${err.message}`);
    process.exit(1);
  },
);
