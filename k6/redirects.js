// Redirect load at a fixed number of virtual users: VUS=50, 200 or 500.
//   k6 run -e VUS=200 -e DURATION=1m k6/redirects.js
// Nine requests in ten go to a small hot set, one to any of the seeded links.
import { check } from 'k6';
import { seedLinks, redirect, isRedirect, redirectThresholds, pick } from './lib.js';

const VUS = parseInt(__ENV.VUS || '50', 10);
const LINKS = parseInt(__ENV.LINKS || '10000', 10);

export const options = {
  scenarios: {
    redirects: { executor: 'constant-vus', vus: VUS, duration: __ENV.DURATION || '1m' },
  },
  thresholds: redirectThresholds,
};

export function setup() {
  return { codes: seedLinks(LINKS) };
}

export default function (data) {
  const code = Math.random() < 0.9 ? data.codes[Math.floor(Math.random() * 100)] : pick(data.codes);
  const r = redirect(code);
  check(r, { redirected: isRedirect });
}
