#!/bin/sh
# DEMO ONLY: the "WAN switch" that the demo agent of `npm start` runs on switch-wan and restore-wan. It changes
# nothing on this machine: it appends one line to LOG_FILE and prints it (the agent sends the output back in its
# ack). A real site runs `ip route replace ...` or a router script here; see docs/agent.md.
# Usage: demo-switch.sh LINK FROM_LINK LOG_FILE
set -eu
line="switched to $1 (from $2) by command ${FAILOVER_COMMAND_ID:-?} at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf '%s\n' "$line" >>"$3"
printf '%s\n' "$line"
