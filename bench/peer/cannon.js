// One autocannon run for bench.compare (python -m bench.compare), the same for every system.
//   node cannon.js SPEC.json
// SPEC: {url, connections, seconds, warmup, warmupConnections, requests: [{method, path, headers, body}]}
// Each connection loops over `requests` in order. A warm-up (its figures thrown away) comes first; then
// one line {"phase":"start"} and, when the measured run is done, one line of JSON with the figures.
// A response counts as good only if it is 2xx and, for GraphQL, has no "errors" key: the others are
// counted (non2xx, graphqlErrors) and kept out of the latencies and the requests/s.
// cpu: this process's own user+system time over the measured run, as a share of one core.
'use strict';
const fs = require('fs');
const autocannon = require('autocannon');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

let measuring = false;
let lastBad = false;
let latencies = [];
const counts = { ok: 0, non2xx: 0, graphqlErrors: 0 };
const samples = [];
let sqlStatements = null;

function onResponse(status, body, _context, headers) {
  const non2xx = status < 200 || status > 299;
  const graphqlErrors = !non2xx && body.includes('"errors":');
  lastBad = non2xx || graphqlErrors;
  if (!measuring) return;
  if (non2xx) counts.non2xx++;
  else if (graphqlErrors) counts.graphqlErrors++;
  else counts.ok++;
  if (lastBad && samples.length < 3) samples.push(`${status} ${body.slice(0, 400)}`);
  const sql = headers['x-sql-statements'];
  if (sql !== undefined) sqlStatements = Number(sql);
}

function run(connections, seconds) {
  const requests = spec.requests.map((r) => ({
    method: r.method,
    path: r.path,
    headers: r.headers,
    body: r.body,
    onResponse,
  }));
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url: spec.url, connections, duration: seconds, requests, timeout: 30 },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    // 'response' follows the request's onResponse synchronously, for the same response.
    instance.on('response', (_client, _status, _bytes, ms) => {
      if (measuring && !lastBad) latencies.push(ms);
    });
  });
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

(async () => {
  if (spec.warmup > 0) await run(spec.warmupConnections || 2, spec.warmup);
  latencies = [];
  measuring = true;
  process.stdout.write(JSON.stringify({ phase: 'start' }) + '\n');
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const result = await run(spec.connections, spec.seconds);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  measuring = false;
  latencies.sort((a, b) => a - b);
  process.stdout.write(
    JSON.stringify({
      phase: 'done',
      seconds: result.duration,
      completed: counts.ok + counts.non2xx + counts.graphqlErrors,
      ok: counts.ok,
      non2xx: counts.non2xx,
      graphqlErrors: counts.graphqlErrors,
      socketErrors: result.errors,
      timeouts: result.timeouts,
      rps: counts.ok / result.duration,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      cpuShare: (cpu.user + cpu.system) / wallUs,
      sqlStatements,
      samples,
    }) + '\n',
  );
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
