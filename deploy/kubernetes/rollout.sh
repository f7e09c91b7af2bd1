#!/usr/bin/env bash
# Release with plain kubectl, in the order the service needs: migrations first, then the
# Deployment. (Argo CD does the same by itself from the hook annotations in migrate-job.yaml.)
#
#   deploy/kubernetes/rollout.sh deploy/overlays/production
#
# 1. check that the Secrets the pods read exist (they are never applied from this repository,
#    so the namespace and the Secrets are created by hand before the first release);
# 2. delete the previous migration Job (a Job's pod template cannot be changed in place);
# 3. apply only the objects labelled rollout.sen-support/phase (namespace, service account,
#    ConfigMap, migration Job) and wait for the Job: on failure, print its log and stop, with
#    the running release untouched;
# 4. apply everything (the Job is unchanged, so it does not run again) and wait for the
#    Deployment's rollout.
set -euo pipefail

overlay=${1:?usage: rollout.sh OVERLAY_DIRECTORY (e.g. deploy/overlays/production)}
namespace=${NAMESPACE:-sen-support}
job=sen-support-api-migrate
timeout_seconds=${MIGRATION_TIMEOUT_SECONDS:-900}

# The namespace and the Secrets come first, by hand (deploy/README.md, "First install").
for secret in sen-support-api-secrets sen-support-api-migration; do
    if ! kubectl -n "$namespace" get secret "$secret" >/dev/null 2>&1; then
        echo "secret $namespace/$secret is missing: create it first (deploy/README.md)" >&2
        exit 2
    fi
done

kubectl -n "$namespace" delete job "$job" --ignore-not-found --wait=true

kubectl apply -k "$overlay" -l 'rollout.sen-support/phase in (setup,migrate)'

echo "waiting for job/$job (at most ${timeout_seconds}s) ..."
deadline=$((SECONDS + timeout_seconds))
while true; do
    succeeded=$(kubectl -n "$namespace" get job "$job" -o jsonpath='{.status.succeeded}')
    failed=$(kubectl -n "$namespace" get job "$job" \
        -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}')
    if [[ "${succeeded:-0}" -ge 1 ]]; then
        kubectl -n "$namespace" logs "job/$job" --tail=50 || true
        break
    fi
    if [[ "$failed" == "True" ]] || ((SECONDS >= deadline)); then
        echo "migration job/$job did not complete; the running release is untouched" >&2
        kubectl -n "$namespace" logs "job/$job" --tail=200 >&2 || true
        exit 1
    fi
    sleep 5
done

kubectl apply -k "$overlay"
kubectl -n "$namespace" rollout status deployment/sen-support-api --timeout=15m
