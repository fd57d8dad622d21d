#!/usr/bin/env bash
# setup.sh: installs the Debian packages touchpoint needs, only those that are missing.
# Idempotent and silent when everything is present; runs `apt-get update` only when it must
# install. Then the npm side (DuckDB's node package, the Parquet oracle for tests).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential pkg-config
  libzstd-dev libsnappy-dev zlib1g-dev libbrotli-dev liblz4-dev   # Parquet codecs
  libyaml-dev libjansson-dev                                      # config, JSON
  libsqlite3-dev libmicrohttpd-dev                                # registry/job store, HTTP
  libopenblas-dev                                                 # dense math
  libxgboost-dev                                                  # gradient boosting (propensity)
  python3 python3-pandas python3-numpy                            # benchmark peers (/usr/bin/python3)
  python3-torch python3-sklearn python3-xgboost                   # reference implementations in tests
  nodejs npm                                                      # DuckDB oracle in tests
  chromium                                                        # report rendering test
  clang libclang-rt-14-dev                                        # libFuzzer, LeakSanitizer
  curl time jq wrk                                                 # HTTP smoke test and load bench
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine whose node came from elsewhere (not Debian's package) is fine as long as node and npm run.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -x scripts/setup_node.sh ]; then scripts/setup_node.sh; fi
