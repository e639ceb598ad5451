// Issue 15 acceptance: the outbound, prepaid-race and inbound suites, unchanged, against a Redis
// Cluster of 3 masters + 3 replicas shared by two dialgate instances (see clusterMode() in
// harness.ts). The suites' describe blocks are collected here; the harness reads the mode when a
// bench starts, after this file's body has run.
import { afterAll } from 'vitest';
import { stopSharedRedis } from './harness.js';
import './outbound-calls.test.js';
import './prepaid-race.test.js';
import './inbound-calls.test.js';

process.env.DIALGATE_TEST_REDIS = 'cluster';
afterAll(stopSharedRedis);
