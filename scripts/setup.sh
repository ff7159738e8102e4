#!/usr/bin/env bash
# Sets up everything the notebooks and their runner need, on a Debian/Ubuntu machine that
# already has Rust (rustup) and Python 3.10+. Safe to run again: each step checks first and
# skips what is already done.
#
#   bash scripts/setup.sh        (or: make setup)
#
# Steps:
#   1. check the tools (rustc/cargo, python3, npm)
#   2. Debian packages: dataset-fashion-mnist, fonts-nanum (apt as root or with sudo -n)
#   3. .venv with the pinned Python packages of requirements.txt, then the project's own
#      tools (tools/, the package cnnkit_notebooks) installed editable, with their commands
#   4. evcxr_jupyter 0.22.0 (cargo install --locked, only when missing or another version)
#   5. the Jupyter kernel `rust` (evcxr_jupyter --install), checked with the venv's jupyter
#   6. a local MathJax 2.7 for the HTML pages (npm pack, copied into .venv/share/mathjax)
#
# Environment: SETUP_SKIP_APT=1 skips step 2; PYTHON=python3.11 picks the interpreter for
# the venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

EVCXR_VERSION="0.22.0"
MATHJAX_VERSION="2.7.9"
MIN_RUST="1.95.0"  # evcxr 0.22.0 declares rust-version 1.95 (the workspace alone declares 1.89)
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
APT_PACKAGES=(dataset-fashion-mnist fonts-nanum)

export PATH="$HOME/.cargo/bin:$PATH"

if [ -t 1 ]; then B=$'\033[1m'; N=$'\033[0m'; else B=""; N=""; fi
step() { printf '\n%s[setup] %s%s\n' "$B" "$*" "$N"; }
info() { printf '  %s\n' "$*"; }
skip() { printf '  already done: %s\n' "$*"; }
warn() { printf '  WARNING: %s\n' "$*" >&2; }
die() { printf '  ERROR: %s\n' "$*" >&2; exit 1; }

version_ge() { # version_ge A B: true when A >= B (dotted numbers)
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

START=$(date +%s)

# 1 ------------------------------------------------------------------------------------------
step "1/6 tools"
command -v cargo >/dev/null && command -v rustc >/dev/null \
    || die "Rust is missing. Install it with rustup (https://rustup.rs), then run this again."
RUSTC_VERSION="$(rustc --version | awk '{print $2}')"
version_ge "${RUSTC_VERSION%%-*}" "$MIN_RUST" \
    || die "rustc $RUSTC_VERSION is older than $MIN_RUST: run 'rustup update stable'."
info "rustc $RUSTC_VERSION (needs $MIN_RUST or newer)"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3.10 or newer."
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
    || die "$("$PYTHON" --version) is too old: JupyterLab 4.6 and nbclient 0.11 need Python 3.10+."
info "$("$PYTHON" --version)"
if command -v npm >/dev/null; then
    info "npm $(npm --version)"
else
    warn "npm not found: step 6 (local MathJax) will be skipped; HTML pages then load MathJax from a CDN."
fi

# 2 ------------------------------------------------------------------------------------------
step "2/6 Debian packages: ${APT_PACKAGES[*]}"
missing=()
for p in "${APT_PACKAGES[@]}"; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        skip "$p"
    else
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "${SETUP_SKIP_APT:-0}" = "1" ]; then
        warn "SETUP_SKIP_APT=1: not installing ${missing[*]}"
    elif ! command -v apt-get >/dev/null; then
        warn "no apt-get here: install ${missing[*]} by hand (Fashion-MNIST: the notebooks then download it)."
    else
        SUDO=()
        if [ "$(id -u)" -ne 0 ]; then
            if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
                SUDO=(sudo -n)
            else
                SUDO=(none)
            fi
        fi
        if [ "${SUDO[0]:-}" = "none" ]; then
            warn "not root and no password-less sudo. Run this yourself, then 'make setup' again:"
            warn "  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
        else
            info "installing ${missing[*]}"
            export DEBIAN_FRONTEND=noninteractive
            "${SUDO[@]}" apt-get update -qq || warn "apt-get update failed"
            for p in "${missing[@]}"; do  # one by one: a package missing on this release skips only itself
                if ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$p" >/dev/null; then
                    warn "apt-get install $p failed"
                    [ "$p" = dataset-fashion-mnist ] && warn "  (the notebooks then download Fashion-MNIST once)"
                fi
            done
        fi
    fi
fi
if [ -d /usr/share/datasets/fashion-mnist ]; then
    info "Fashion-MNIST: /usr/share/datasets/fashion-mnist"
fi

# 3 ------------------------------------------------------------------------------------------
step "3/6 Python venv .venv with the pins of requirements.txt and the tools in tools/"
if [ ! -x "$VENV/bin/python" ]; then
    info "creating .venv with $PYTHON"
    "$PYTHON" -m venv "$VENV" || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)."
else
    skip ".venv exists ($("$VENV/bin/python" --version))"
fi
# Compares the installed versions with requirements.txt; prints what differs.
pins_ok() {
    "$VENV/bin/python" - "$ROOT/requirements.txt" <<'EOF'
import sys
from importlib import metadata
bad = []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, version = line.split("==")
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = None
    if have != version:
        bad.append(f"{name}: want {version}, have {have}")
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
EOF
}
if pins_ok >/dev/null 2>&1; then
    skip "all pins of requirements.txt installed"
else
    pins_ok || true
    info "pip install -r requirements.txt"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r requirements.txt
    pins_ok || die "the venv still differs from requirements.txt"
fi
# Whether tools/ is installed editable from this checkout, with the version and the entry
# points (console scripts, pytest plugin) that tools/pyproject.toml declares now.
tools_ok() {
    "$VENV/bin/python" - "$ROOT/tools" <<'EOF'
import json, re, sys
from importlib import metadata
from pathlib import Path
tools = Path(sys.argv[1]).resolve()
try:
    dist = metadata.distribution("cnnkit-notebooks")
except metadata.PackageNotFoundError:
    sys.exit("  cnnkit-notebooks is not installed")
url = json.loads(dist.read_text("direct_url.json") or "{}")
if not url.get("dir_info", {}).get("editable") or url.get("url") != tools.as_uri():
    sys.exit(f"  cnnkit-notebooks is installed from {url.get('url')}, not editable from {tools}")
init = (tools / "cnnkit_notebooks" / "__init__.py").read_text(encoding="utf-8")
version = re.search(r'__version__ = "([^"]+)"', init).group(1)
if dist.version != version:
    sys.exit(f"  cnnkit-notebooks: want {version}, have {dist.version}")
want = {}
pyproject = (tools / "pyproject.toml").read_text(encoding="utf-8")
for head, body in re.findall(r"^\[project\.(scripts|entry-points\.[\w.-]+)\]\n(.*?)(?=^\[|\Z)", pyproject, re.M | re.S):
    group = "console_scripts" if head == "scripts" else head.split(".", 1)[1]
    for name, value in re.findall(r'^([\w.-]+)\s*=\s*"([^"]+)"', body, re.M):
        want[(group, name)] = value
have = {(e.group, e.name): e.value for e in dist.entry_points}
if want != have:
    sys.exit(f"  cnnkit-notebooks: entry points differ from tools/pyproject.toml: have {sorted(have)}")
bin_dir = Path(sys.executable).parent
missing = [name for group, name in want if group == "console_scripts" and not (bin_dir / name).exists()]
if missing:
    sys.exit(f"  missing commands in {bin_dir}: {' '.join(missing)}")
EOF
}
if tools_ok >/dev/null 2>&1; then
    skip "tools/ installed editable (cnnkit-run, cnnkit-lab, cnnkit-student, cnnkit-clean)"
else
    tools_ok || true
    info "pip install --no-deps -e tools   (its dependencies are the pins above)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps -e "$ROOT/tools"
    tools_ok || die "tools/ is still not installed the way tools/pyproject.toml says"
fi

# 4 ------------------------------------------------------------------------------------------
step "4/6 evcxr_jupyter $EVCXR_VERSION"
# evcxr_jupyter has no --version: ask cargo which version it installed.
have_evcxr="$(cargo install --list 2>/dev/null | sed -n 's/^evcxr_jupyter v\([^:]*\):$/\1/p')"
if [ "$have_evcxr" = "$EVCXR_VERSION" ] && command -v evcxr_jupyter >/dev/null; then
    skip "evcxr_jupyter $have_evcxr at $(command -v evcxr_jupyter)"
elif [ -z "$have_evcxr" ] && command -v evcxr_jupyter >/dev/null; then
    warn "evcxr_jupyter at $(command -v evcxr_jupyter) was not installed by cargo: keeping it (want $EVCXR_VERSION)"
else
    [ -n "$have_evcxr" ] && info "found evcxr_jupyter $have_evcxr, replacing it"
    info "cargo install evcxr_jupyter --version $EVCXR_VERSION --locked (about 12 minutes on 2 cores)"
    cargo install evcxr_jupyter --version "$EVCXR_VERSION" --locked
fi
if command -v rustup >/dev/null; then
    if rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
        skip "rust-src (used by evcxr for completions)"
    else
        info "rustup component add rust-src (evcxr uses it for completions in JupyterLab)"
        rustup component add rust-src || warn "could not add rust-src: completions in JupyterLab will be weaker"
    fi
fi

# 5 ------------------------------------------------------------------------------------------
step "5/6 Jupyter kernel 'rust'"
EVCXR_BIN="$(command -v evcxr_jupyter)"
KERNEL_JSON="$("$VENV/bin/jupyter" kernelspec list --json 2>/dev/null \
    | "$VENV/bin/python" -c 'import json,sys; k=json.load(sys.stdin)["kernelspecs"].get("rust"); print(k["resource_dir"] + "/kernel.json" if k else "")')"
if [ -n "$KERNEL_JSON" ] && grep -qF "\"$EVCXR_BIN\"" "$KERNEL_JSON"; then
    skip "kernel 'rust' registered at $(dirname "$KERNEL_JSON")"
else
    info "evcxr_jupyter --install"
    "$EVCXR_BIN" --install | grep -v '^Writing' || true
fi
"$VENV/bin/jupyter" kernelspec list | grep -E '^\s+rust\s' >/dev/null \
    || die "the venv's jupyter does not see the kernel 'rust' (jupyter kernelspec list)"
info "$("$VENV/bin/jupyter" kernelspec list | grep -E '^\s+rust\s' | sed 's/^ *//')"

# 6 ------------------------------------------------------------------------------------------
step "6/6 local MathJax $MATHJAX_VERSION for the HTML pages"
MJ_DIR="$VENV/share/mathjax"
if [ -f "$MJ_DIR/MathJax.js" ] && [ "$(cat "$MJ_DIR/VERSION" 2>/dev/null)" = "$MATHJAX_VERSION" ]; then
    skip "MathJax $MATHJAX_VERSION in .venv/share/mathjax"
elif ! command -v npm >/dev/null; then
    warn "npm missing: skipped (install nodejs/npm and run 'make setup' again)"
else
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    info "npm pack mathjax@$MATHJAX_VERSION"
    (cd "$tmp" && npm pack --silent "mathjax@$MATHJAX_VERSION" >/dev/null)
    tar -xzf "$tmp"/mathjax-*.tgz -C "$tmp"
    # Only what the nbconvert pages use (TeX input, CommonHTML output with the TeX woff fonts,
    # the menu's renderers and extensions): about 15 MB instead of 73 MB.
    rm -rf "$MJ_DIR.new" && mkdir -p "$MJ_DIR.new/jax/output" "$MJ_DIR.new/fonts/HTML-CSS/TeX"
    p="$tmp/package"
    cp "$p/MathJax.js" "$p/LICENSE" "$MJ_DIR.new/"
    cp -r "$p/config" "$p/extensions" "$p/localization" "$MJ_DIR.new/"
    cp -r "$p/jax/element" "$p/jax/input" "$MJ_DIR.new/jax/"
    for o in CommonHTML PreviewHTML NativeMML PlainSource; do cp -r "$p/jax/output/$o" "$MJ_DIR.new/jax/output/"; done
    cp -r "$p/fonts/HTML-CSS/TeX/woff" "$MJ_DIR.new/fonts/HTML-CSS/TeX/"
    echo "$MATHJAX_VERSION" > "$MJ_DIR.new/VERSION"
    rm -rf "$MJ_DIR" && mv "$MJ_DIR.new" "$MJ_DIR"
    info "installed in .venv/share/mathjax ($(du -sh "$MJ_DIR" | cut -f1))"
fi

step "done in $(( $(date +%s) - START )) s"
info "run the notebooks: make run    tests: make test    JupyterLab: make lab"
