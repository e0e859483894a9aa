#!/usr/bin/env node
// The `mam` command: the compiled CLI lives in dist/ (built by `npm install`).
import '../dist/src/cli/main.js';
