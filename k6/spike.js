// Spike: 20 users, a jump to 500 for 30 s, and back.
//   k6 run k6/spike.js
import { check } from 'k6';
import { seedLinks, redirect, isRedirect, pick } from './lib.js';

export const options = {
  scenarios: {
    spike: {
      executor: 'ramping-vus',
      startVUs: 20,
      stages: [
        { duration: '20s', target: 20 },
        { duration: '5s', target: 500 },
        { duration: '30s', target: 500 },
        { duration: '5s', target: 20 },
        { duration: '20s', target: 20 },
      ],
    },
  },
  thresholds: {
    'http_req_duration{name:redirect}': ['p(95)<50'],
    'checks{check:redirected}': ['rate>0.999'],
    http_req_failed: ['rate<0.01'],
  },
};

export function setup() {
  return { codes: seedLinks(5000) };
}

export default function (data) {
  check(redirect(pick(data.codes)), { redirected: isRedirect });
}
