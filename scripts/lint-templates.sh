#!/usr/bin/env bash
# Synthesizes every stack into a scratch folder and runs cfn-lint over each template. Errors fail; warnings are
# printed. W3005 (a DependsOn that a GetAtt already implies) is how CDK wires every Lambda to its role, so it is
# ignored rather than patched around. Each configuration is synthesized on its own: the default one, and the one
# with two control regions (a global table and the standby's stack).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
templates=()
for config in examples/sites.yaml examples/two-control-regions.yaml; do
  dir="$out/$(basename "$config" .yaml)"
  if ! npx cdk synth --quiet -c config="$config" --output "$dir" >"$out/synth.log" 2>&1; then
    cat "$out/synth.log" >&2
    exit 1
  fi
  templates+=("$dir"/*.template.json)
done
echo "cfn-lint $(cfn-lint --version | awk '{print $2}') over ${#templates[@]} template(s)"
rc=0
cfn-lint --ignore-checks W3005 -- "${templates[@]}" || rc=$?
# cfn-lint's exit code is a bit mask: 2 = errors, 4 = warnings, 8 = informational.
if (( rc & 2 )) || (( rc & 1 )); then
  echo "cfn-lint found errors (exit $rc)" >&2
  exit 1
fi
echo "cfn-lint: 0 errors"
