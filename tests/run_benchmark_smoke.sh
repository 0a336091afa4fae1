#!/bin/bash
# Runs every benchmark of one binary for a token amount of time: proves it runs, checks no timing.
set -euo pipefail
bin="$1"
"$bin" --benchmark_min_time=0.001 --benchmark_format=console
