// Soak: a steady, moderate load for a long time (DURATION, default 30m), to
// catch leaks and slow drifts.
//   k6 run -e DURATION=2h k6/soak.js
import { check, sleep } from 'k6';
import { seedLinks, redirect, isRedirect, redirectThresholds, pick } from './lib.js';

export const options = {
  scenarios: {
    soak: { executor: 'constant-arrival-rate', rate: parseInt(__ENV.RATE || '2000', 10), timeUnit: '1s',
      duration: __ENV.DURATION || '30m', preAllocatedVUs: 100, maxVUs: 400 },
  },
  thresholds: redirectThresholds,
};

export function setup() {
  return { codes: seedLinks(20000) };
}

export default function (data) {
  check(redirect(pick(data.codes)), { redirected: isRedirect });
}
