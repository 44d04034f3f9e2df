// Smoke: ten seconds of every scenario's requests at a trickle, with the same
// thresholds. Run it first, against any deployment:
//   EDGE_URL=... ORIGIN_URL=... REBOUND_TOKEN=... k6 run k6/smoke.js
import http from 'k6/http';
import { check } from 'k6';
import { EDGE_URL, ORIGIN_URL, authHeaders, seedLinks, redirect, isRedirect, pick } from './lib.js';
import writes from './writes.js';

export const options = {
  vus: 2,
  duration: '10s',
  thresholds: {
    'checks{check:redirected}': ['rate>0.999'],
    'checks{check:written}': ['rate>0.999'],
    'checks{check:healthy}': ['rate>0.999'],
    'http_req_duration{name:redirect}': ['p(95)<50'],
    http_req_failed: ['rate<0.01'],
  },
};

export function setup() {
  return { codes: seedLinks(200) };
}

export default function (data) {
  check(http.get(`${EDGE_URL}/health`, { tags: { name: 'health' } }), { healthy: (r) => r.status === 200 });
  check(http.get(`${ORIGIN_URL}/health`, { tags: { name: 'health' } }), { healthy: (r) => r.status === 200 });
  check(redirect(pick(data.codes)), { redirected: isRedirect }); // redirects.js, spike.js, soak.js
  const unknown = http.get(`${EDGE_URL}/k6-no-such-code-${Math.random().toString(36).slice(2)}`,
    { redirects: 0, tags: { name: 'unknown' }, responseCallback: http.expectedStatuses(404) });
  check(unknown, { 'unknown is 404 json': (r) => r.status === 404 && r.json().code === 'not_found' });
  check(http.get(`${ORIGIN_URL}/urls?per_page=1`, { headers: authHeaders() }), { written: (r) => r.status === 200 });
  writes(); // writes.js
}
