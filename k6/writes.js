// Write mix through the origin API, beside redirects of the links it writes:
// create, read, update, deactivate, delete, list, stats.
//   k6 run -e DURATION=1m k6/writes.js
import http from 'k6/http';
import { check } from 'k6';
import { ORIGIN_URL, authHeaders, redirect, isRedirect } from './lib.js';

export const options = {
  scenarios: {
    writes: { executor: 'constant-arrival-rate', rate: parseInt(__ENV.RATE || '200', 10), timeUnit: '1s',
      duration: __ENV.DURATION || '1m', preAllocatedVUs: 50, maxVUs: 200 },
  },
  thresholds: {
    'http_req_duration{name:create}': ['p(99)<20'],
    'http_req_duration{name:update}': ['p(99)<50'],
    'checks{check:written}': ['rate>0.999'],
    http_req_failed: ['rate<0.01'],
  },
};

const json = authHeaders({ 'Content-Type': 'application/json' });

export default function () {
  const created = http.post(`${ORIGIN_URL}/urls`, JSON.stringify({ original_url: `https://example.com/w/${Math.random()}` }),
    { headers: json, tags: { name: 'create' } });
  if (!check(created, { written: (r) => r.status === 201 })) {
    return;
  }
  const link = created.json();
  check(redirect(link.short_code), { redirected: isRedirect });
  const updated = http.patch(`${ORIGIN_URL}/urls/${link.id}`, JSON.stringify({ title: 'k6', is_active: false }),
    { headers: json, tags: { name: 'update' } });
  check(updated, { written: (r) => r.status === 200 });
  // Deactivated: every edge answers 404 "gone" once the API has answered.
  check(redirect(link.short_code, { name: 'gone' }, [404]), { 'gone after deactivate': (r) => r.status === 404 });
  check(http.get(`${ORIGIN_URL}/urls/${link.id}/stats`, { headers: json, tags: { name: 'stats' } }),
    { written: (r) => r.status === 200 });
  check(http.get(`${ORIGIN_URL}/urls?per_page=5`, { headers: json, tags: { name: 'list' } }),
    { written: (r) => r.status === 200 });
  check(http.del(`${ORIGIN_URL}/urls/${link.id}`, null, { headers: json, tags: { name: 'delete' } }),
    { written: (r) => r.status === 204 });
}
