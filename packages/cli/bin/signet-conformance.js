#!/usr/bin/env node
require('../dist/signet-conformance.cjs').run();
