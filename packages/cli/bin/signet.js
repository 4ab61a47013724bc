#!/usr/bin/env node
require('../dist/signet.cjs').run();
