#!/bin/bash
# Installs what tools/train_demo_model.py needs on Debian 12: PyTorch and numpy from Debian, and the KJV text.
set -euo pipefail
bash "$(dirname "$0")/install-packages.sh" python3-torch python3-numpy bible-kjv
