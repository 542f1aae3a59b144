#!/usr/bin/env bash
# Installs what the end-to-end tests need and the unit tests do not: Debian's Chromium, and
# code-server (a real VS Code) in test/e2e/.tools. Idempotent; safe to run before every e2e run.
set -euo pipefail
cd "$(dirname "$0")"
CODE_SERVER_VERSION=4.100.3

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v rg >/dev/null || need_apt+=(ripgrep)
[ -e /usr/include/krb5.h ] || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "e2e setup: please install ${need_apt[*]} (apt-get install as root)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

tools="$PWD/.tools"
if [ -x "$tools/node_modules/.bin/code-server" ] && grep -q "\"version\": \"$CODE_SERVER_VERSION\"" "$tools/node_modules/code-server/package.json"; then
  echo "e2e setup: code-server $CODE_SERVER_VERSION already installed"
  exit 0
fi

# @vscode/ripgrep downloads rg from GitHub in its install step; this machine has no internet, so its
# download cache is seeded with Debian's rg (the versions code-server $CODE_SERVER_VERSION pins).
seed_rg() { # <package version> <ripgrep release>
  local dir="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$1" stage
  stage="$(mktemp -d)"
  mkdir -p "$dir"
  cp "$(command -v rg)" "$stage/rg"
  tar czf "$dir/ripgrep-$2-x86_64-unknown-linux-musl.tar.gz" -C "$stage" rg
  rm -rf "$stage"
}
seed_rg 1.15.11 v13.0.0-10

mkdir -p "$tools"
cat > "$tools/package.json" <<JSON
{ "name": "loupe-e2e-tools", "private": true }
JSON
# code-server's install runs scripts as root, and must not stop to ask.
printf 'unsafe-perm=true\nyes=true\n' > "$tools/.npmrc"
(cd "$tools" && npm install --no-audit --no-fund --no-save "code-server@$CODE_SERVER_VERSION")
echo "e2e setup: code-server installed in $tools"
