#!/usr/bin/env bash
# Runs `ih-mock conformance` for the conformance action (action.yml next to this file), and works
# the same outside GitHub Actions. Inputs come as environment variables (never spliced into a shell
# line, so a client command with quotes stays one argument):
#
#   CONFORMANCE_CLIENT      the client command, run through the shell once per case (required)
#   CONFORMANCE_CASES       case ids or patterns, e.g. "1.*,8.1" (default: the whole catalogue)
#   CONFORMANCE_RUNS        property runs instead of the catalogue (generated scenarios, shrunk on failure)
#   CONFORMANCE_SEED        seed of the scenarios
#   CONFORMANCE_LEDGER      the client's expected deviations (YAML or JSON file)
#   CONFORMANCE_TRANSPORT   stream, upload or both
#   CONFORMANCE_TIMEOUT_MS  time a case gives the client
#   CONFORMANCE_REPORT_DIR  where the reports go (default ih-mock-conformance)
#   IH_MOCK_COMMAND         how to run ih-mock, e.g. "node ./bin/ih-mock.js" (default: npx --yes ih-mock)
#   IH_MOCK_VERSION         with the default command: the npm version or tag to run (ih-mock@<version>)
#
# Writes <dir>/junit.xml, <dir>/report.html (FAILED cases' recordings in <dir>/report-recordings/),
# <dir>/report.json and <dir>/console.txt; their absolute paths go to $GITHUB_OUTPUT (junit, html,
# json: empty when not written; report-dir, exit-code) and a summary to $GITHUB_STEP_SUMMARY when those are set. Exits with
# ih-mock conformance's code: 0 when no case failed that the ledger does not expect, 1 otherwise,
# 2 on bad input; and 1 if the run ended without its reports (nothing is "ok" that was not checked).
set -uo pipefail

fail_usage() {
  echo "run-conformance: $*" >&2
  exit 2
}

client="${CONFORMANCE_CLIENT:-}"
[ -n "$client" ] || fail_usage "CONFORMANCE_CLIENT (the action's client input) is required: the command that runs your client"

report_dir="${CONFORMANCE_REPORT_DIR:-ih-mock-conformance}"
mkdir -p "$report_dir" || fail_usage "cannot create the report folder $report_dir"
report_dir="$(cd "$report_dir" && pwd)"
junit="$report_dir/junit.xml"
html="$report_dir/report.html"
json="$report_dir/report.json"
console="$report_dir/console.txt"
rm -f "$junit" "$html" "$json" "$console" # a report left by an earlier run must not pass for this one's

args=(conformance --client "$client" --junit "$junit" --html "$html" --json "$json")
[ -z "${CONFORMANCE_CASES:-}" ] || args+=(--cases "$CONFORMANCE_CASES")
[ -z "${CONFORMANCE_RUNS:-}" ] || args+=(--runs "$CONFORMANCE_RUNS" --out-dir "$report_dir")
[ -z "${CONFORMANCE_SEED:-}" ] || args+=(--seed "$CONFORMANCE_SEED")
[ -z "${CONFORMANCE_LEDGER:-}" ] || args+=(--ledger "$CONFORMANCE_LEDGER")
[ -z "${CONFORMANCE_TRANSPORT:-}" ] || args+=(--transport "$CONFORMANCE_TRANSPORT")
[ -z "${CONFORMANCE_TIMEOUT_MS:-}" ] || args+=(--timeout-ms "$CONFORMANCE_TIMEOUT_MS")

if [ -n "${IH_MOCK_COMMAND:-}" ]; then
  # The command is the user's shell words (it may quote a path); the arguments are passed as "$@".
  run_ih_mock() { bash -c "$IH_MOCK_COMMAND \"\$@\"" ih-mock "$@"; }
  shown="$IH_MOCK_COMMAND"
else
  package="ih-mock${IH_MOCK_VERSION:+@$IH_MOCK_VERSION}"
  run_ih_mock() { npx --yes "$package" "$@"; }
  shown="npx --yes $package"
fi

printf -v quoted '%q ' "${args[@]}"
echo "run-conformance: $shown ${quoted% }"
run_ih_mock "${args[@]}" 2>&1 | tee "$console"
code=${PIPESTATUS[0]}

# The kit always writes its reports: every case, every passing property run, or a failing run's
# shrunk counterexample.
if [ "$code" -eq 0 ] && { [ ! -s "$junit" ] || [ ! -s "$html" ]; }; then
  echo "run-conformance: ih-mock conformance exited 0 but did not write $junit and $html" >&2
  code=1
fi
written() { if [ -s "$1" ]; then echo "$1"; fi; }

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "junit=$(written "$junit")"
    echo "html=$(written "$html")"
    echo "json=$(written "$json")"
    echo "report-dir=$report_dir"
    echo "exit-code=$code"
  } >>"$GITHUB_OUTPUT"
fi

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    echo "### ih-mock conformance: $([ "$code" -eq 0 ] && echo passed || echo "failed (exit $code)")"
    echo
    echo '```'
    # The case lines and the totals, without the "wrote <file>" lines.
    grep -v '^wrote ' "$console" | tail -n 60
    echo '```'
    echo
    if [ -s "$junit" ]; then echo "Reports: \`$junit\`, \`$html\`."; fi
  } >>"$GITHUB_STEP_SUMMARY"
fi

exit "$code"
