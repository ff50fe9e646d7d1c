#!/usr/bin/env bash
# Regenerates src/gen from ../../proto with buf's bundled compiler and ts-proto: no protoc download.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf src/gen
../../node_modules/.bin/buf generate --template buf.gen.yaml
