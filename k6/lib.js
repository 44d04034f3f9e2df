// Shared set-up of Rebound's k6 scenarios: where the services are, how to
// seed links through the origin API, and the thresholds that fail a run.
import http from 'k6/http';
import { check, fail } from 'k6';

export const EDGE_URL = (__ENV.EDGE_URL || 'http://localhost:8080').replace(/\/$/, '');
export const ORIGIN_URL = (__ENV.ORIGIN_URL || 'http://localhost:8081').replace(/\/$/, '');
export const TOKEN = __ENV.REBOUND_TOKEN || '';

export function authHeaders(extra) {
  return Object.assign({ Authorization: `Bearer ${TOKEN}` }, extra || {});
}

// seedLinks creates n links in one CSV upload and returns their codes. The
// codes carry a per-run prefix so runs never collide.
export function seedLinks(n, prefix) {
  if (!TOKEN) {
    fail('set REBOUND_TOKEN to an admin token (make run prints one)');
  }
  const run = prefix || `k6${Date.now().toString(36)}`;
  const codes = [];
  let csv = 'short_code,original_url\n';
  for (let i = 0; i < n; i++) {
    const code = `${run}-${i}`;
    codes.push(code);
    csv += `${code},https://example.com/k6/${code}\n`;
  }
  const res = http.post(`${ORIGIN_URL}/urls/bulk`, csv, {
    headers: authHeaders({ 'Content-Type': 'text/csv' }),
    timeout: '120s',
  });
  if (!check(res, { 'seed: 200': (r) => r.status === 200 })) {
    fail(`seeding links failed: ${res.status} ${res.body}`);
  }
  const body = res.json();
  if (body.imported !== n) {
    fail(`seeded ${body.imported} of ${n} links: ${res.body}`);
  }
  return codes;
}

// redirect asks the edge for one code without following the redirect.
// expected lists statuses that are not failures (default: the redirects).
export function redirect(code, tags, expected) {
  return http.get(`${EDGE_URL}/${code}`, {
    redirects: 0,
    tags: tags || { name: 'redirect' },
    responseCallback: http.expectedStatuses(...(expected || [301, 302, 307, 308])),
  });
}

export function isRedirect(r) {
  return r.status === 301 || r.status === 302 || r.status === 307 || r.status === 308;
}

// redirectThresholds fail the run when redirects get slow or fail.
export const redirectThresholds = {
  'http_req_duration{name:redirect}': ['p(95)<20', 'p(99)<50'],
  'checks{check:redirected}': ['rate>0.999'],
  http_req_failed: ['rate<0.01'],
};

export function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}
