#!/usr/bin/env node
// The ptables command. Build first (npm run build); this only loads the compiled entry point.
"use strict";
require("../dist/main.js").runFromProcess();
