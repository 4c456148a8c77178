#!/usr/bin/env bash
# ctest man_pages: every man page in docs/man formats with groff at zero warnings
# (-ww: all warnings on), `man -l` renders it, and every --option a program's --help prints
# is documented in its page, so the pages follow the programs.
# Usage: man_test.sh MAN_DIR [PAGE=PROGRAM]...
set -euo pipefail
man_dir=$1
shift
status=0
for page in "$man_dir"/*.[1-8]; do
  warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1) || true
  if [[ -n $warnings ]]; then
    echo "FAIL: $page: groff warnings:"
    echo "$warnings"
    status=1
  fi
  lines=$(MANWIDTH=80 man -l "$page" 2>&1 | wc -l)
  if ((lines < 20)); then
    echo "FAIL: $page: man -l rendered only $lines lines"
    status=1
  fi
  echo "$(basename "$page"): groff -ww clean, $lines lines"
done
for pair in "$@"; do
  page=$man_dir/${pair%%=*}
  program=${pair#*=}
  # The page's source with roff escapes undone: \- is -, \e is \.
  source=$(sed -e 's/\\-/-/g' -e 's/\\e/\\/g' "$page")
  help=$(timeout 10 "$program" --help 2>&1) || true
  options=$(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u) || true
  [[ -n $options ]] || { echo "FAIL: $program --help printed no options"; status=1; }
  for option in $options --version; do
    if ! grep -qF -- "$option" <<<"$source"; then
      echo "FAIL: $(basename "$page") does not document $option of $(basename "$program")"
      status=1
    fi
  done
  echo "$(basename "$page"): documents the $(wc -w <<<"$options") options of $(basename "$program") --help"
done
exit $status
