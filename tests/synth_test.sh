#!/usr/bin/env bash
# psc-synth as a user runs it: the same seed writes the same LIBSVM file,
# another seed another; the file is well-formed (one feature per field, in
# the field's id range, labels 0/1) and holds the examples asked; its
# Bayes-optimal figures are printed; bad options exit 2 with one line.
# usage: synth_test.sh BIN_DIR
BIN=$1
. "$(dirname "$0")/lib.sh"

out=$("$BIN/psc-synth" --examples 3000 --fields 4 --ids 4000 --seed 5 \
    --out "$WORK/a.svm") || fail "psc-synth exited $?"
echo "$out"
echo "$out" | grep -qE "^synthetic: 3000 examples from 0, 4 fields, 4000 ids \(zipf 1.1\), seed 5: [0-9.]+% positive; Bayes-optimal AUC 0\.[0-9]{4}, logloss 0\.[0-9]{4}$" ||
    fail "unexpected summary: $out"
"$BIN/psc-synth" --examples 3000 --fields 4 --ids 4000 --seed 5 --out "$WORK/b.svm" >/dev/null
cmp -s "$WORK/a.svm" "$WORK/b.svm" || fail "the same seed wrote different files"
"$BIN/psc-synth" --examples 3000 --fields 4 --ids 4000 --seed 6 --out "$WORK/c.svm" >/dev/null
cmp -s "$WORK/a.svm" "$WORK/c.svm" && fail "seeds 5 and 6 wrote the same file"
python3 - "$WORK/a.svm" <<'PY' || fail "a.svm is not the data asked for"
import sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 3000, len(lines)
pos = 0
for n, line in enumerate(lines, 1):
    words = line.split()
    assert words[0] in ("0", "1"), (n, line)
    pos += words[0] == "1"
    ids = [int(w.split(":")[0]) for w in words[1:]]
    assert [i // 1000 for i in ids] == [0, 1, 2, 3], (n, line)
    assert all(w.endswith(":1") for w in words[1:]), (n, line)
assert 0.05 < pos / 3000 < 0.95, pos
print(f"a.svm: 3000 lines, {pos} positive, one id per field")
PY
# expect_refusal MESSAGE ARGS...: psc-synth ARGS exits 2 with one line,
# "psc-synth: MESSAGE...".
expect_refusal() {
    local want=$1 msg rc
    shift
    msg=$("$BIN/psc-synth" "$@" 2>&1 >/dev/null)
    rc=$?
    [ $rc -eq 2 ] || fail "psc-synth $* exited $rc, not 2"
    [ "$(echo "$msg" | wc -l)" -eq 1 ] || fail "psc-synth $*: not one line: $msg"
    case "$msg" in
    "psc-synth: $want"*) echo "refused: psc-synth $* -> $msg" ;;
    *) fail "psc-synth $*: '$msg', not 'psc-synth: $want...'" ;;
    esac
}
expect_refusal "--fields: '0' is not a number in its range" --fields 0
expect_refusal "synthetic ids 2 is out of range" --ids 2 --fields 4
expect_refusal "--zipf: '-1' is not a number in (0, 10]" --zipf -1
expect_refusal "--examples: 'x'" --examples x
expect_refusal "unknown option" --bogus
echo "synth: ok"
