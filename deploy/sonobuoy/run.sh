#!/bin/sh
# Sonobuoy entrypoint for kaic: scan the cluster, write JUnit (plus JSON, SARIF and the checklist)
# into the results directory, then write the JUnit file's path to the done file. The done file
# is written whatever kaic's exit code: 1 (a requirement fails) is a result, not a plugin error.
set -u
RESULTS_DIR="${SONOBUOY_RESULTS_DIR:-${RESULTS_DIR:-/tmp/sonobuoy/results}}"
PROFILE="${KAIC_PROFILE:-cncf}"
mkdir -p "$RESULTS_DIR"
status=0
kaic scan --cluster --quiet --profile "$PROFILE" --fail-on never \
  --format junit --format json --format sarif --format checklist \
  --output-dir "$RESULTS_DIR" 2>"$RESULTS_DIR/kaic.log" || status=$?
if [ -s "$RESULTS_DIR/kaic-junit.xml" ]; then
  printf '%s' "$RESULTS_DIR/kaic-junit.xml" > "$RESULTS_DIR/done"
else
  # kaic could not scan (exit 2: the reason is in kaic.log): hand back the directory, so the
  # log reaches the sonobuoy tarball instead of the plugin timing out.
  echo "kaic exited with $status; see kaic.log" >&2
  printf '%s' "$RESULTS_DIR" > "$RESULTS_DIR/done"
fi
exit 0
