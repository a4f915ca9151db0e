#!/usr/bin/env bash
# Package smoke test (run by .ci/run): `npm pack`, then install the tarball into empty folders as a
# user would — once as is, once with --omit=optional (no webgpu) — and run the installed bin:
# --version, a `run`, and a 2-configuration `sweep` of a shipped example. The installed package
# must run without tsx (compiled dist/), and without webgpu `--engine gpu` must fail with one line
# and exit code 2 while the CPU engine works. Uses the npm cache first (--prefer-offline).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/balanceroute-pack.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$root"
version="$(node -p "require('./package.json').version")"
# `npm pack` runs `prepare`, which builds dist/. PACK_SMOKE_REUSE_DIST=1 packs the dist/ that is
# there instead (.ci/run: `npm ci` has just built it from the same sources).
pack_flags=()
if [ "${PACK_SMOKE_REUSE_DIST:-}" = 1 ] && [ -f dist/cli.js ]; then pack_flags=(--ignore-scripts); fi
if ! npm pack "${pack_flags[@]}" --pack-destination "$work" >"$work/pack.log" 2>&1; then
  cat "$work/pack.log" >&2
  echo "pack-smoke: npm pack failed" >&2
  exit 1
fi
tgz="$(cd "$work" && ls balanceroute-*.tgz)"
echo "pack-smoke: packed $tgz"

fail() {
  echo "pack-smoke ($1): $2" >&2
  exit 1
}

smoke() {
  local name="$1"
  shift
  local dir="$work/$name"
  mkdir -p "$dir"
  cd "$dir"
  printf '{ "name": "pack-smoke-%s", "private": true }\n' "$name" >package.json
  npm install --prefer-offline --no-audit --no-fund --loglevel=error "$@" "$work/$tgz" >/dev/null
  [ -e node_modules/tsx ] && fail "$name" "tsx was installed: the package must run compiled JavaScript"
  [ -e node_modules/balanceroute/src ] && fail "$name" "the package ships src/"
  local got
  got="$(npx --no-install balanceroute --version)"
  [ "$got" = "$version" ] || fail "$name" "--version printed '$got', expected '$version'"
  npx --no-install balanceroute run --router br0 --dp 4 --rate 8 --requests 200 --json >run.json
  node -e "const r = JSON.parse(require('fs').readFileSync('run.json', 'utf8')); if (r.requests !== 200 || r.completed + r.failed !== 200) { console.error(r); process.exit(1); }" ||
    fail "$name" "run: unexpected result row"
  npx --no-install balanceroute sweep node_modules/balanceroute/examples/grid.yaml --shard 1/128 -q -o sweep.arrow
  [ -s sweep.arrow ] || fail "$name" "sweep wrote no output file"
  # A sweep big enough for the CPU engine's worker pool (MIN_POOL_REQUESTS): the compiled worker.
  printf 'name: pool\nbase: {requests: 10000, rate: 400, dp: 8}\naxes:\n  router: [jsq_load, br0, round_robin, power_of_two]\n' >pool.yaml
  local log
  log="$(npx --no-install balanceroute sweep pool.yaml --engine cpu --threads 2 -o pool.arrow 2>&1 >/dev/null)"
  case "$log" in
  *"cpu engine, 2 threads"*) ;;
  *) fail "$name" "the pool sweep did not run on 2 worker threads: $log" ;;
  esac
  # emulate: the compiled engine worker thread starts, one streamed request completes, SIGTERM exits 0.
  ./node_modules/.bin/balanceroute emulate --dp 2 --port 0 >emulate.out 2>emulate.err &
  local emu=$! port="" i
  for i in $(seq 1 100); do
    port="$(sed -n 's/^emulate: listening .*"ports":\[\([0-9]*\).*/\1/p' emulate.out)"
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { kill "$emu" 2>/dev/null; fail "$name" "emulate did not start: $(cat emulate.err)"; }
  local sse
  sse="$(node -e "fetch('http://127.0.0.1:$port/v1/completions', { method: 'POST', body: JSON.stringify({ prompt: [1, 2, 3], max_tokens: 5, ignore_eos: true, stream: true }) }).then((r) => r.text()).then((t) => process.stdout.write(t))")"
  kill -TERM "$emu"
  wait "$emu" || fail "$name" "emulate exited with $? after SIGTERM"
  [ "$(printf '%s\n' "$sse" | grep -c '"text":')" -eq 5 ] && [[ "$sse" == *"[DONE]"* ]] || fail "$name" "emulate stream: $sse"
  echo "pack-smoke ($name): --version, run, a 2-configuration sweep, the worker pool and emulate OK"
}

smoke with-optional
# With webgpu: the GPU engine finds its shaders in the installed package. Without an adapter that
# is one line and exit code 2 — a failure under CI=true, where .ci/run installs SwiftShader.
set +e
err="$(npx --no-install balanceroute sweep node_modules/balanceroute/examples/grid.yaml --shard 1/128 --engine gpu -o gpu.arrow 2>&1 >/dev/null)"
code=$?
set -e
if [ "$code" -eq 0 ]; then
  [ -s gpu.arrow ] || fail with-optional "--engine gpu wrote no output file"
  echo "pack-smoke (with-optional): --engine gpu OK ($(printf '%s\n' "$err" | head -n 1))"
elif [ "$code" -eq 2 ] && [ "${CI:-}" != true ] && [ "${CI:-}" != 1 ] && [[ "$err" == *"no WebGPU adapter"* ]]; then
  echo "pack-smoke (with-optional): --engine gpu skipped: $err"
else
  fail with-optional "--engine gpu exited with $code: $err"
fi
# Without webgpu: the CPU engine runs, --engine gpu is a one-line input error (exit code 2).
smoke without-optional --omit=optional
[ -e node_modules/webgpu ] && fail without-optional "webgpu was installed despite --omit=optional"
set +e
err="$(npx --no-install balanceroute sweep node_modules/balanceroute/examples/grid.yaml --shard 1/128 --engine gpu -o gpu.arrow 2>&1 >/dev/null)"
code=$?
set -e
[ "$code" -eq 2 ] || fail without-optional "--engine gpu exited with $code, expected 2: $err"
[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail without-optional "--engine gpu printed more than one line: $err"
case "$err" in
*webgpu*) ;;
*) fail without-optional "--engine gpu does not name the missing webgpu package: $err" ;;
esac
[ -e gpu.arrow ] && fail without-optional "--engine gpu left an output file"
echo "pack-smoke (without-optional): --engine gpu says: $err"
echo "pack-smoke: OK"
