#!/usr/bin/env node
// ptablesctl: inspect a running ptables through its agents' sockets. Build first (npm run
// build); this only loads the compiled entry point.
"use strict";
require("../dist/ctl/main.js").runCtlFromProcess();
