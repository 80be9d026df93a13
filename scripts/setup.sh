#!/usr/bin/env bash
# Install what ClaimFlow needs on a fresh Debian machine (run as root), then the Python environment.
# Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v tesseract >/dev/null 2>&1 || need_apt+=(tesseract-ocr tesseract-ocr-eng)
# headless Chromium drives the review workstation's end-to-end test (tests/web/test_browser.py)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# Chinese claim forms (extractors/claim_application_zh.yml) are OCR'd with chi_sim; the sample generator draws
# them with a small CJK font (WenQuanYi Micro Hei, 1.6 MB). Names and addresses whose accents eng loses are read
# again with the Latin models the specs list under `ocr.accents` (2-4 MB each). Weakly read Chinese characters of
# free text are voted on by the Han script model too (`vote: [chi_sim, HanS]`, tesseract-ocr-script-hans, 2.9 MB).
for pkg in tesseract-ocr-chi-sim fonts-wqy-microhei tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-spa \
           tesseract-ocr-ita tesseract-ocr-por tesseract-ocr-nld tesseract-ocr-dan tesseract-ocr-swe \
           tesseract-ocr-pol tesseract-ocr-tur tesseract-ocr-script-hans; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need_apt+=("$pkg")
done
if [ "${CLAIMFLOW_WITH_POSTGRES:-0}" = "1" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need_apt+=(postgresql)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv (pip)" >&2
  python3 -m pip install --quiet uv
  hash -r
fi
uv sync --frozen --quiet
